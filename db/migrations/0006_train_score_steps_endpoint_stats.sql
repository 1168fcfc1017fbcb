CREATE TABLE "endpoint_request_stats" (
	"endpoint_id" uuid NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"process" text NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"records" integer DEFAULT 0 NOT NULL,
	"client_errors" integer DEFAULT 0 NOT NULL,
	"server_errors" integer DEFAULT 0 NOT NULL,
	"latency_buckets" integer[] NOT NULL,
	"latency_sum_ms" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "endpoint_request_stats_endpoint_id_minute_process_pk" PRIMARY KEY("endpoint_id","minute","process")
);
--> statement-breakpoint
ALTER TABLE "build_steps" ADD COLUMN "model" text;--> statement-breakpoint
ALTER TABLE "build_steps" ADD COLUMN "progress" jsonb;--> statement-breakpoint
ALTER TABLE "build_steps" ADD COLUMN "result" jsonb;--> statement-breakpoint
ALTER TABLE "endpoint_request_stats" ADD CONSTRAINT "endpoint_request_stats_endpoint_id_endpoints_id_fk" FOREIGN KEY ("endpoint_id") REFERENCES "public"."endpoints"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "endpoint_request_stats_minute_idx" ON "endpoint_request_stats" USING btree ("minute");