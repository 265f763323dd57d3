import type { NotificationsStore } from '../db/notifications-store';
import type { Notification } from '../domain/notifications';

export type { Notification } from '../domain/notifications';
export type { Refusal, RefusalCode } from '../domain/refusals';

export interface ListNotificationsDeps {
  store: Pick<NotificationsStore, 'listByBooking'>;
}

/** A booking's notifications, oldest first (an unknown booking simply has none). */
export function listNotifications(deps: ListNotificationsDeps, bookingId: number): Promise<Notification[]> {
  return deps.store.listByBooking(bookingId);
}
