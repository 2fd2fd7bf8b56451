import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/**
 * A message may go to several contact points at once (a case room's members; the relay is never
 * told which room). Such a message has no single recipient: its recipients are listed in
 * message_recipients, which goes with the message.
 */
export async function up(db: AnyDb): Promise<void> {
  await sql`alter table messages alter column recipient_contact_point drop not null`.execute(db);
  await db.schema
    .createTable('message_recipients')
    .addColumn('message_id', 'uuid', (c) => c.notNull().references('messages.message_id').onDelete('cascade'))
    .addColumn('contact_point_id', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('message_recipients_pk', ['message_id', 'contact_point_id'])
    .execute();
}
