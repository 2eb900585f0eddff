CREATE TABLE "filter_results" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "filter_results_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"layer_probe_id" integer NOT NULL,
	"index" integer NOT NULL,
	"labels" integer NOT NULL,
	"matrix" "bytea" NOT NULL,
	"scale" double precision NOT NULL,
	"silent" boolean NOT NULL,
	"preferred_label" integer NOT NULL,
	"preference" double precision NOT NULL,
	"clusters" jsonb NOT NULL,
	"signal" integer NOT NULL,
	"noise" integer NOT NULL,
	"snr" double precision,
	"noise_free" boolean NOT NULL,
	"ablation" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "layer_probes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "layer_probes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"probe_id" integer NOT NULL,
	"layer_id" integer NOT NULL,
	"layer_name" text NOT NULL,
	"probe_point" jsonb,
	"success_rate" double precision,
	"history" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"aggregates" jsonb,
	"afcc" jsonb,
	"complete" boolean DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE "probes" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "probes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"run_id" integer NOT NULL,
	"options" jsonb NOT NULL,
	"layer_names" jsonb NOT NULL,
	"status" text DEFAULT 'QUEUED' NOT NULL,
	"backend" text,
	"device" text,
	"forward_calls" integer,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "probe_id" integer;--> statement-breakpoint
ALTER TABLE "filter_results" ADD CONSTRAINT "filter_results_layer_probe_id_layer_probes_id_fk" FOREIGN KEY ("layer_probe_id") REFERENCES "public"."layer_probes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "layer_probes" ADD CONSTRAINT "layer_probes_probe_id_probes_id_fk" FOREIGN KEY ("probe_id") REFERENCES "public"."probes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "layer_probes" ADD CONSTRAINT "layer_probes_layer_id_layers_id_fk" FOREIGN KEY ("layer_id") REFERENCES "public"."layers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "probes" ADD CONSTRAINT "probes_run_id_training_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."training_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "filter_results_layer_index" ON "filter_results" USING btree ("layer_probe_id","index");--> statement-breakpoint
CREATE INDEX "filter_results_snr" ON "filter_results" USING btree ("layer_probe_id","snr");--> statement-breakpoint
CREATE UNIQUE INDEX "layer_probes_probe_layer" ON "layer_probes" USING btree ("probe_id","layer_name");--> statement-breakpoint
CREATE INDEX "layer_probes_layer" ON "layer_probes" USING btree ("layer_id");--> statement-breakpoint
CREATE INDEX "probes_run" ON "probes" USING btree ("run_id");