/** Files imported as text (`./x.ts?raw`): definition file templates shipped inside the app. */
declare module '*?raw' {
  const text: string
  export default text
}
