/**
 * The one door from a test suite into another tower's code. A test imports its own workspace, `@skyway/common`
 * and this kit; what it needs of another workspace (a real flight-service to book against, a service's config
 * loader, the fault proxy, the SMTP sink) comes through here, so the crossings are listed in one file.
 * Checked by e2e/test/architecture.test.ts.
 */
export { FaultProxy } from './fault-proxy';

// A real flight-service for booking-service's tests (booking-service cannot hold seats without one).
export { startFlightService } from '../../flight-service/src/main';

// notification-service's pieces that the system tests drive: its SMTP sink, queue names and config.
export { SmtpSink } from '../../notification-service/test/helpers/smtp-sink';
export { amqpNamesFor } from '../../notification-service/src/main';

// Every service's config loader, for the tests that check ports, compose, k8s and production settings.
export { loadConfig as gatewayConfig, DEV_JWT_SECRET } from '../../api-gateway/src/config';
export { loadConfig as flightConfig } from '../../flight-service/src/config';
export { loadConfig as bookingConfig } from '../../booking-service/src/config';
export { loadConfig as notificationConfig } from '../../notification-service/src/config';

// flight-service's search parsers, which the OpenAPI document test holds the documented filters against.
export { parsePriceRange, parseSort, parseTrips } from '../../flight-service/src/domain/search';
