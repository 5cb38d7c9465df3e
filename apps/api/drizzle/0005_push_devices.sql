CREATE TABLE "push_devices" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"platform" text NOT NULL,
	"device_type" text NOT NULL,
	"provider" text NOT NULL,
	"token" text NOT NULL,
	"subscription" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "push_devices_token_unique" UNIQUE("token"),
	CONSTRAINT "push_devices_platform_check" CHECK ("push_devices"."platform" in ('android', 'ios', 'web')),
	CONSTRAINT "push_devices_provider_check" CHECK ("push_devices"."provider" in ('fcm', 'apns', 'webpush'))
);
--> statement-breakpoint
ALTER TABLE "push_jobs" ADD COLUMN "device_id" text;--> statement-breakpoint
ALTER TABLE "push_jobs" ADD COLUMN "provider" text;--> statement-breakpoint
ALTER TABLE "push_devices" ADD CONSTRAINT "push_devices_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "push_devices_user_idx" ON "push_devices" USING btree ("user_id");