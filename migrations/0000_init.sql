CREATE TABLE "architectures" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "architectures_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"description" text,
	"spec" jsonb NOT NULL,
	"preset" boolean DEFAULT false NOT NULL,
	"labels" integer NOT NULL,
	"input_shape" jsonb NOT NULL,
	"parameter_count" bigint NOT NULL,
	"flops" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "architectures_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "layers" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "layers_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"architecture_id" integer NOT NULL,
	"index" integer NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"filters" integer,
	"kernel_size" integer,
	"input_shape" jsonb NOT NULL,
	"output_shape" jsonb NOT NULL,
	"parameter_count" bigint NOT NULL,
	"flops" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "layers" ADD CONSTRAINT "layers_architecture_id_architectures_id_fk" FOREIGN KEY ("architecture_id") REFERENCES "public"."architectures"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "layers_architecture_index" ON "layers" USING btree ("architecture_id","index");--> statement-breakpoint
CREATE INDEX "layers_architecture" ON "layers" USING btree ("architecture_id");