CREATE TABLE "build_steps" (
	"run_id" uuid NOT NULL,
	"step_id" text NOT NULL,
	"cell_id" text NOT NULL,
	"kind" text NOT NULL,
	"dataset" text NOT NULL,
	"after" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"source" text,
	"ordinal" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"staging_table" text,
	"row_count" bigint,
	"checks" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"metrics" jsonb,
	"log" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"published_at" timestamp with time zone,
	CONSTRAINT "build_steps_run_id_step_id_pk" PRIMARY KEY("run_id","step_id")
);
--> statement-breakpoint
CREATE TABLE "pipeline_graphs" (
	"hash" text PRIMARY KEY NOT NULL,
	"json" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "notebook_id" uuid;--> statement-breakpoint
ALTER TABLE "build_steps" ADD CONSTRAINT "build_steps_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "build_steps_run_ordinal_idx" ON "build_steps" USING btree ("run_id","ordinal");--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_notebook_id_notebooks_id_fk" FOREIGN KEY ("notebook_id") REFERENCES "public"."notebooks"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "runs_notebook_created_idx" ON "runs" USING btree ("notebook_id","created_at");