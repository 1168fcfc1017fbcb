CREATE TABLE "drift_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"endpoint_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rows" integer NOT NULL,
	"features" jsonb NOT NULL,
	"max_psi" double precision,
	"prediction_psi" double precision,
	"auc" double precision,
	"labelled_rows" integer,
	"computed_by" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prediction_log" (
	"endpoint_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"bundle_hash" text,
	"logged_at" timestamp with time zone NOT NULL,
	"request_id" text,
	"record" json NOT NULL,
	"probability" double precision NOT NULL,
	"label" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "reference" jsonb;--> statement-breakpoint
ALTER TABLE "drift_reports" ADD CONSTRAINT "drift_reports_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "drift_reports_endpoint_computed_idx" ON "drift_reports" USING btree ("endpoint_id","computed_at");--> statement-breakpoint
CREATE INDEX "prediction_log_endpoint_logged_idx" ON "prediction_log" USING btree ("endpoint_id","logged_at");