// The names of the power models that `estimator.model` accepts, in the order of the registry
// (src/estimation/modelRegistry.ts: kepler-ts's own models, then the baselines). The config keeps
// its own list so that validating a config does not load every model and the CPU catalog; the
// registry checks when it loads that its models are exactly these, in this order.

export const ESTIMATOR_MODEL_NAMES = ['kts-specpower', 'ccf', 'teads', 'codecarbon', 'boavizta'] as const;
export type EstimatorModelName = (typeof ESTIMATOR_MODEL_NAMES)[number];

/** The model used when the config names none (`estimator.model: ""`). */
export const DEFAULT_ESTIMATOR_MODEL: EstimatorModelName = 'kts-specpower';
