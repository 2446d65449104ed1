export function StockScreen() {
  return <h1>StockScreen</h1>;
}
