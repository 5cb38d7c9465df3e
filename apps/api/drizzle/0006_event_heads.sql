CREATE TABLE "conversation_event_heads" (
	"conversation_id" text PRIMARY KEY NOT NULL,
	"last_event_seq" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "conversation_event_heads" ADD CONSTRAINT "conversation_event_heads_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
INSERT INTO "conversation_event_heads" ("conversation_id", "last_event_seq") SELECT "id", "last_event_seq" FROM "conversations" WHERE "last_event_seq" > 0;--> statement-breakpoint
ALTER TABLE "conversations" DROP COLUMN "last_event_seq";