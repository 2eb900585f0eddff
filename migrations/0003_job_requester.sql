ALTER TABLE "jobs" ADD COLUMN "requested_by" text DEFAULT 'anonymous' NOT NULL;--> statement-breakpoint
CREATE INDEX "jobs_requester" ON "jobs" USING btree ("requested_by","status");