export function App() {
  return (
    <main>
      <h1>DeepFaith Studio</h1>
      <p>Explain a classifier's predictions, score how faithful the explanations are, and train a DeepFaith explainer.</p>
    </main>
  );
}
