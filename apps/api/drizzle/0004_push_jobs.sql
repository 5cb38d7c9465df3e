CREATE TABLE "push_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"reason" text NOT NULL,
	"conversation_id" text,
	"user_id" text,
	"exclude_user_id" text,
	"notification" json NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"last_outcome" text,
	"last_error" text,
	CONSTRAINT "push_jobs_kind_check" CHECK ("push_jobs"."kind" in ('decide', 'send')),
	CONSTRAINT "push_jobs_state_check" CHECK ("push_jobs"."state" in ('pending', 'delivered', 'failed', 'expired'))
);
--> statement-breakpoint
CREATE INDEX "push_jobs_due_idx" ON "push_jobs" USING btree ("run_at") WHERE "push_jobs"."state" = 'pending';--> statement-breakpoint
CREATE INDEX "push_jobs_finished_idx" ON "push_jobs" USING btree ("finished_at") WHERE "push_jobs"."state" <> 'pending';