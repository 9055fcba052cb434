// Every power model kepler-ts knows, by name. Adding a model is one line in MODELS below (or in
// BASELINE_MODELS for a published curve); the `model evaluate` command and findModel() see it.

import { ESTIMATOR_MODEL_NAMES } from '../config/estimatorModels.js';
import { boaviztaModel } from './baselines/boavizta.js';
import { ccfModel } from './baselines/ccf.js';
import { codecarbonModel } from './baselines/codecarbon.js';
import { teadsModel } from './baselines/teads.js';
import type { PowerModel } from './powerModel.js';
import { SpecpowerModel } from './specpowerModel.js';
import { SPECPOWER_PARAMETERS } from './specpowerParameters.js';

/** The published curves of shared/spec/estimation.md, for comparison. */
export const BASELINE_MODELS: PowerModel[] = [ccfModel, teadsModel, codecarbonModel, boaviztaModel];

/** kepler-ts's own models, listed before the baselines. Add one here. */
const MODELS: PowerModel[] = [new SpecpowerModel(SPECPOWER_PARAMETERS)];

/** `extra` first, then the baselines. Throws if two models share a name. */
export function allModels(extra: PowerModel[] = []): PowerModel[] {
  const models = [...extra, ...BASELINE_MODELS];
  const seen = new Set<string>();
  for (const m of models) {
    if (seen.has(m.name)) throw new Error(`two power models are named "${m.name}"`);
    seen.add(m.name);
  }
  return models;
}

/** The models the command line and the config know: kepler-ts's own, then the baselines. */
export function knownModels(): PowerModel[] {
  return allModels(MODELS);
}

// The config validates `estimator.model` against its own list of names, so as not to load the
// models: it must name exactly these models, in this order. A model added above goes there too.
{
  const registered = knownModels()
    .map((m) => m.name)
    .join(', ');
  if (registered !== ESTIMATOR_MODEL_NAMES.join(', ')) {
    throw new Error(`src/config/estimatorModels.ts lists the power models ${ESTIMATOR_MODEL_NAMES.join(', ')}, but the registry has ${registered}: make them agree`);
  }
}

export function findModel(name: string, models: readonly PowerModel[] = knownModels()): PowerModel | undefined {
  return models.find((m) => m.name === name);
}

/**
 * The model used when the config names none: the one with the lowest error on SPECpower rows it
 * was not fitted on (`npm run fit-model` prints that comparison; the README has the figures).
 */
export const DEFAULT_MODEL_NAME = 'kts-specpower';
