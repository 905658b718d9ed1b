// The suites run against both majors of each framework; the older ones are installed under
// npm aliases and typed as their current counterparts.
declare module 'express4' {
  import express from 'express';
  export default express;
}

declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
