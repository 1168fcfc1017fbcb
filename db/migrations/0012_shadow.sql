ALTER TABLE "endpoints" ADD COLUMN "shadow_version_id" uuid;--> statement-breakpoint
ALTER TABLE "prediction_log" ADD COLUMN "shadow" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "prediction_log" ADD COLUMN "pair_id" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_shadow_version_id_model_versions_id_fk" FOREIGN KEY ("shadow_version_id") REFERENCES "public"."model_versions"("id") ON DELETE set null ON UPDATE no action;