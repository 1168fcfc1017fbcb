CREATE TABLE "bundles" (
	"project_id" uuid NOT NULL,
	"hash" text NOT NULL,
	"manifest" text NOT NULL,
	"release_notes" text NOT NULL,
	"origin" text NOT NULL,
	"notebook_id" uuid,
	"built_over_failure" boolean DEFAULT false NOT NULL,
	"size_bytes" integer NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "bundles_project_id_hash_pk" PRIMARY KEY("project_id","hash")
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"bundle_hash" text NOT NULL,
	"environment" text DEFAULT 'production' NOT NULL,
	"kind" text NOT NULL,
	"activated_by" text NOT NULL,
	"reason" text NOT NULL,
	"activated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deactivated_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "bundle_hash" text;--> statement-breakpoint
ALTER TABLE "endpoints" ADD COLUMN "bundle_hash" text;--> statement-breakpoint
ALTER TABLE "bundles" ADD CONSTRAINT "bundles_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bundles" ADD CONSTRAINT "bundles_notebook_id_notebooks_id_fk" FOREIGN KEY ("notebook_id") REFERENCES "public"."notebooks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_bundle_fk" FOREIGN KEY ("project_id","bundle_hash") REFERENCES "public"."bundles"("project_id","hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bundles_project_created_idx" ON "bundles" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "deployments_project_activated_idx" ON "deployments" USING btree ("project_id","activated_at");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_one_active_uq" ON "deployments" USING btree ("project_id","environment") WHERE "deployments"."deactivated_at" is null;