/**
 * The activity log lives in core/ (src/core/activity.ts) so that every capability can write it
 * without importing shops/; this module keeps the shops' own imports working.
 */
export * from "../core/activity.ts";
