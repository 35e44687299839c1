/**
 * The API documentation routes of the gateway: `GET /openapi.json` (the document built at start-up)
 * and `GET /docs`, Swagger UI served from the `swagger-ui-dist` package by this process — no CDN.
 * The page and its assets carry a Content-Security-Policy that allows only this origin.
 */
import { readFileSync } from "fs";
import type { IncomingMessage, ServerResponse } from "http";
import { join } from "path";
import { Errors } from "moleculer";
import { toHttpError } from "../../lib/errors";

/**
 * This origin only. Swagger UI draws its icons as `data:` SVG images (which cannot run script);
 * it sets styles through the DOM, which `style-src 'self'` allows — no 'unsafe-inline' anywhere.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SWAGGER_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

/** Starts Swagger UI on the page (a file, not an inline script, so the CSP can forbid inline). */
const INIT_SCRIPT = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Campus API</title>
    <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
    <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/assets/swagger-ui-bundle.js"></script>
    <script src="/docs/assets/init.js"></script>
  </body>
</html>
`;

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const dir = join(require.resolve("swagger-ui-dist/package.json"), "..");
  const assets = new Map<string, Asset>();
  for (const [file, type] of Object.entries(SWAGGER_FILES)) {
    assets.set(file, { type, body: readFileSync(join(dir, file)) });
  }
  assets.set("init.js", { type: "text/javascript; charset=utf-8", body: Buffer.from(INIT_SCRIPT) });
  return assets;
}

function send(res: ServerResponse, type: string, body: Buffer | string, cache: string): void {
  res.writeHead(200, {
    "Content-Type": type,
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": cache,
  });
  res.end(body);
}

function notFound(res: ServerResponse): void {
  const http = toHttpError(new Errors.MoleculerClientError("Not found", 404, "NOT_FOUND"));
  res.writeHead(http.status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Security-Policy": DOCS_CSP,
  });
  res.end(JSON.stringify(http.body));
}

/** moleculer-web routes for `/openapi.json` and `/docs` (restricted to these aliases). */
export function docsRoutes(document: unknown) {
  const json = JSON.stringify(document);
  const assets = loadAssets();
  const common = {
    mappingPolicy: "restrict" as const,
    bodyParsers: { json: false, urlencoded: false },
    logging: false,
  };
  return [
    {
      ...common,
      path: "/openapi.json",
      aliases: {
        "GET /"(_req: IncomingMessage, res: ServerResponse) {
          res.writeHead(200, {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "no-cache",
          });
          res.end(json);
        },
      },
    },
    {
      ...common,
      path: "/docs",
      aliases: {
        "GET /"(_req: IncomingMessage, res: ServerResponse) {
          send(res, "text/html; charset=utf-8", PAGE, "no-cache");
        },
        "GET /assets/:file"(
          req: IncomingMessage & { $params?: { file?: string } },
          res: ServerResponse,
        ) {
          // Only the files listed above: the name is a key, never a path.
          const asset = assets.get(String(req.$params?.file ?? ""));
          if (!asset) return notFound(res);
          send(res, asset.type, asset.body, "public, max-age=3600");
        },
      },
    },
  ];
}
