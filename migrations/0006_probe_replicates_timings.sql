ALTER TABLE "layer_probes" ADD COLUMN "replicates" jsonb;--> statement-breakpoint
ALTER TABLE "probes" ADD COLUMN "timings" jsonb;