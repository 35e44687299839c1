/**
 * @moleculer/channels' constants module (plain JavaScript, no typings): the metric names its
 * adapters count under, which the in-process adapter counts under too.
 */
declare module "@moleculer/channels/src/constants" {
  export const METRIC_CHANNELS_MESSAGES_ERRORS_TOTAL: string;
  export const METRIC_CHANNELS_MESSAGES_RETRIES_TOTAL: string;
  export const METRIC_CHANNELS_MESSAGES_DEAD_LETTERING_TOTAL: string;
}
