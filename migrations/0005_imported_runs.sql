ALTER TABLE "training_runs" ALTER COLUMN "hyperparameters" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "training_runs" ALTER COLUMN "epochs" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "origin" text DEFAULT 'TRAINED' NOT NULL;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "imported" jsonb;--> statement-breakpoint
ALTER TABLE "training_runs" ADD COLUMN "warnings" jsonb DEFAULT '[]'::jsonb NOT NULL;