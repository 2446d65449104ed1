export function AccessScreen() {
  return <h1>AccessScreen</h1>;
}
