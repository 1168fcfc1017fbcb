ALTER TABLE "runs" ADD COLUMN "progress" jsonb;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "candidate_of" uuid;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_candidate_of_model_versions_id_fk" FOREIGN KEY ("candidate_of") REFERENCES "public"."model_versions"("id") ON DELETE set null ON UPDATE no action;