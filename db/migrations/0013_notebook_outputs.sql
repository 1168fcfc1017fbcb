CREATE TABLE "notebook_cell_outputs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"notebook_id" uuid NOT NULL,
	"cell_id" text NOT NULL,
	"status" text NOT NULL,
	"source_hash" text NOT NULL,
	"inputs_hash" text NOT NULL,
	"input_names" jsonb NOT NULL,
	"output" jsonb NOT NULL,
	"elapsed_ms" integer NOT NULL,
	"ran_by" uuid,
	"ran_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "dataset_metrics" ADD COLUMN "profile" jsonb;--> statement-breakpoint
ALTER TABLE "notebook_cell_outputs" ADD CONSTRAINT "notebook_cell_outputs_notebook_id_notebooks_id_fk" FOREIGN KEY ("notebook_id") REFERENCES "public"."notebooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notebook_cell_outputs" ADD CONSTRAINT "notebook_cell_outputs_ran_by_users_id_fk" FOREIGN KEY ("ran_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "notebook_cell_outputs_cell_idx" ON "notebook_cell_outputs" USING btree ("notebook_id","cell_id","ran_at");