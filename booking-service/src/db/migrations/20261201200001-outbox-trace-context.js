'use strict';

/**
 * outbox_events.traceparent: the W3C trace context of the request that wrote the event. The relay publishes later,
 * in another context, and sends it on in the message headers, so the email the event causes joins the same trace.
 */
module.exports = {
  async up(queryInterface) {
    await queryInterface.sequelize.query(
      `ALTER TABLE outbox_events ADD COLUMN traceparent VARCHAR(55) CHARACTER SET ascii NULL AFTER payload`,
    );
  },

  async down(queryInterface) {
    await queryInterface.sequelize.query(`ALTER TABLE outbox_events DROP COLUMN traceparent`);
  },
};
