/**
 * Built-in demo tasks. Files live in public/demos/<id>/ (data.csv, model/model.json + shards,
 * meta.json with the test accuracy and class names); LICENSES.md beside them.
 * Paths are relative to the demos folder: Node reads them from public/demos, the studio fetches
 * them from the page's own origin (`/demos/...`).
 */
export interface DemoTask {
  id: string;
  name: string;
  /** One line for the task picker. */
  description: string;
  data: string;
  label: string;
  model: string;
  meta: string;
}

export const DEMOS: DemoTask[] = ['iris', 'wine', 'breast-cancer', 'penguins'].map((id) => ({
  id,
  name: { iris: 'Iris', wine: 'Wine', 'breast-cancer': 'Breast cancer (Wisconsin diagnostic)', penguins: 'Palmer penguins' }[id]!,
  description: {
    iris: '150 flowers, 4 measurements, 3 species',
    wine: '178 wines, 13 chemical measurements, 3 cultivars',
    'breast-cancer': '569 tumours, 30 cell-nucleus features, malignant vs benign',
    penguins: '333 penguins, 4 body measurements, 3 species',
  }[id]!,
  data: `${id}/data.csv`,
  label: id === 'penguins' ? 'species' : 'target',
  model: `${id}/model/model.json`,
  meta: `${id}/meta.json`,
}));

export function getDemo(id: string): DemoTask | undefined {
  return DEMOS.find((d) => d.id === id);
}
