/** "What is this" texts: plain words, the formula from METRICS.md, and which way is better. */

export interface Topic {
  title: string;
  plain: string;
  formula?: string;
  better?: string;
}

export const PANEL_HELP: Record<string, Topic> = {
  task: {
    title: 'Task',
    plain: 'A task is a trained classifier (the target model) and a table of rows it classifies. Every later step explains and scores this model’s predictions on these rows. Pick a demo, or drop a TensorFlow.js model folder (model.json and its .bin files) together with a CSV whose columns are the model’s inputs plus one label column — or, for an image model, a folder with one sub-folder per class of PNG/JPEG images (or a zip of it, or NPY/IDX arrays). On images every feature is a square patch: choose the patch size and how pixel values were normalised when the model was trained. For a text model (a model reading token ids, e.g. the sentiment demo) drop its vocab.json with it and a CSV with a text column: every word of a sentence is a feature, and a removed word becomes the pad token (or a mask token you choose).',
    formula: 'output p_c(x): the softmax probability of the target class c (the class the model predicts on the clean row). A removed feature is set to its baseline (mean of the column by default, or zero).',
  },
  explain: {
    title: 'Explain',
    plain: 'An explanation gives every feature a score: how much it pushed the model towards the target class. Different methods (gradients, perturbations, Shapley values, LIME, …) often disagree. The bars share one scale so you can compare them; orange bars push towards the class, blue ones away. On images each method’s scores are painted over the picture (red towards the class, blue away, or bright = more important when the values are normalised or never negative); gradient methods can also show a map per pixel. On texts each method is a row of the same sentence with every word’s background coloured the same way; type your own sentence to see which words push the prediction.',
    formula: 's ∈ ℝⁿ, one score per feature, higher = more important (signed as produced).',
  },
  evaluate: {
    title: 'Evaluate',
    plain: 'Faithfulness metrics check an explanation against the model itself: if the features it ranks highest really matter, removing them should change the prediction most. Each cell is the mean over the scored rows; arrows say which way is better; the best value per column is highlighted and ranks are averaged into a mean rank (1 = best).',
    formula: 'Δ(I) = p_c(x) − p_c(x \\ I); π = argsort_desc(s); curves over t = 0..T steps of k features, AUC by the trapezoid rule at x_t = t/T.',
  },
  supervise: {
    title: 'Supervise',
    plain: 'DeepFaith learns from the prior explanations that are both distinct and faithful. Per sample, near-duplicates are dropped (cosine similarity ≥ δ with a kept one, in method order), then an explanation is kept only if it passes every metric’s threshold: the p-quantile of the kept scores (for ↓ metrics the (1−p)-quantile). The survivors form the supervision set Z. Move δ and p to see the effect live.',
    formula: 'keep i if cos(s_i, s_j) < δ for every kept j; pass if score ≥ Q_p (↑) or ≤ Q_{1−p} (↓) on all ten metrics.',
  },
  train: {
    title: 'Train',
    plain: 'The explainer is a small Transformer that reads the features of a row and outputs a saliency in [0,1] for each. It learns to agree with the supervision set (L_PC) and to be faithful by itself (L_LC). α weighs the two: it starts at 1 (fit the priors) and, once L_PC settles (its variance over the last e steps falls under ε), it drops to ½ and decays, shifting weight to faithfulness; if L_PC jumps again, α resets to 1.',
    formula: 'L_PC = mean(1 − τ_pearson(φ(x), s)); L_LC = ½ − ½·mean τ_pearson[(Σ_{i∈I_j} φ(x)_i)_j, (Δ(I_j))_j]; L = α·L_PC + (1−α)·L_LC.',
    better: 'Both losses: lower is better.',
  },
  report: {
    title: 'Report',
    plain: 'Everything needed to share or reproduce the run: the final table including the trained explainer, how long each step took, and downloads. Every file carries its provenance (app version, backend, seed, SHA-256 of model and data). “Copy link” puts the job in the address so the same run can be opened elsewhere. On images, the side-by-side grid shows every method’s map (and the explainer’s) for a few test rows with their insertion and deletion scores; on texts, each test sentence under every method and the explainer.',
  },
};

export const METRIC_HELP: Record<string, Topic> = {
  FC: { title: 'Faithfulness correlation', plain: 'Remove random small groups of features; the explanation’s total score of each group should track how much the prediction drops.', formula: 'τ_pearson[(Σ_{i∈I_j} s_i)_j, (Δ(I_j))_j] over N random subsets of size m', better: 'Higher is better (↑, at most 1).' },
  FE: { title: 'Faithfulness estimate', plain: 'Remove the features one chunk at a time (each chunk alone); the chunk’s score should track the drop it causes.', formula: 'τ_pearson[(Σ_{i∈G_t} s_i)_t, (Δ(G_t))_t], G_t = chunks of π', better: 'Higher is better (↑).' },
  MC: { title: 'Monotonicity correlation', plain: 'Replace each chunk with random noise several times; more important chunks should move the prediction more.', formula: 'τ_spearman[(Σ_{i∈G_t} s_i)_t, (v_t)_t], v_t = mean_k (p_c(x \\_k G_t) − p_c(x))² / p_c(x)²', better: 'Higher is better (↑).' },
  INF: { title: 'Infidelity (as correlation)', plain: 'Remove random halves of the features; the removed features’ total score should track the drop.', formula: 'τ_pearson[(Σ_{i∈I_j} s_i)_j, (Δ(I_j))_j], each feature in I_j with probability ½', better: 'Higher is better (↑).' },
  RP: { title: 'Region perturbation (AOPC)', plain: 'Remove the top features step by step and average how much the prediction has dropped.', formula: '1/(T+1) · Σ_t Δ(top_t)', better: 'Higher is better (↑).' },
  INS: { title: 'Insertion', plain: 'Start from the all-baseline row and put the top features back one step at a time; a good explanation brings the probability back quickly.', formula: 'AUC of p_c(x° ∪ top_t), t = 0..T', better: 'Higher is better (↑).' },
  DEL: { title: 'Deletion', plain: 'Remove the top features one step at a time; a good explanation makes the probability fall quickly.', formula: 'AUC of p_c(x \\ top_t), t = 0..T', better: 'Lower is better (↓).' },
  NEG: { title: 'Negative perturbation', plain: 'Remove the least important features first, until the prediction flips; a good explanation keeps the probability high meanwhile.', formula: 'AUC of p_c(x \\ bottom_t) up to the first flip t*, at x = t/t*', better: 'Higher is better (↑).' },
  POS: { title: 'Positive perturbation', plain: 'Remove the most important features first, until the prediction flips; a good explanation makes it flip early and low.', formula: 'AUC of p_c(x \\ top_t) up to the first flip t*, at x = t/t*', better: 'Lower is better (↓).' },
  IROF: { title: 'IROF', plain: 'Remove the top features step by step and track the remaining share of the original probability; one minus its area.', formula: '1 − AUC of p_c(x \\ top_t) / p_c(x)', better: 'Higher is better (↑).' },
};

/** The guided walk: one stop per panel, with what to do there. */
/**
 * The guided walk: each stop shows a panel and, when the user presses Next, performs that panel's
 * step (`action`) so the walk never leads to an empty panel. Training in the walk uses a small
 * explainer (WALK_TRAINING) so it finishes in seconds on a CPU.
 */
export const TOUR: { step: 'task' | 'explain' | 'evaluate' | 'supervise' | 'train' | 'report'; action?: 'load' | 'explain' | 'evaluate' | 'train'; text: string }[] = [
  { step: 'task', action: 'load', text: 'We start from a task: the Iris demo, a small network that tells three iris species apart from four flower measurements. Note its accuracy and the class names.' },
  { step: 'explain', action: 'explain', text: 'The walk has explained the first rows with the paper’s eight methods. Compare the bars: do the methods agree which measurement mattered?' },
  { step: 'evaluate', action: 'evaluate', text: 'Ten faithfulness metrics have scored every method. Arrows show which way is better; the mean rank summarises. The inspector below replays how a metric perturbed a row.' },
  { step: 'supervise', text: 'DeepFaith keeps only distinct, faithful explanations. Move δ and p and watch the counts and the red/green ranges change.' },
  { step: 'train', action: 'train', text: 'The walk trains a small explainer on what survived. Watch L_PC fall, then α drop when it converges and L_LC take over.' },
  { step: 'report', text: 'The final table scores the explainer beside the priors on the held-out rows, as the command line does. Download everything with its provenance, or copy a link to this run.' },
];

/** The small explainer the walk trains (the job file jobs/iris.json uses the same architecture). */
export const WALK_TRAINING = { explainer: { dModel: 32, nHeads: 4, nLayers: 2, dFF: 64 }, training: { epochs: 30, batchSize: 4096 } };
