-- A bundle never changes after it is created: the database itself refuses to change or remove one
-- (as for audit_events, migration 0001). Deployments refer to bundles by (project, hash).
CREATE OR REPLACE FUNCTION bundles_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'bundles are immutable: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER bundles_no_update_delete BEFORE UPDATE OR DELETE ON bundles
  FOR EACH ROW EXECUTE FUNCTION bundles_reject_change();
--> statement-breakpoint
CREATE TRIGGER bundles_no_truncate BEFORE TRUNCATE ON bundles
  FOR EACH STATEMENT EXECUTE FUNCTION bundles_reject_change();
