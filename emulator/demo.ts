// A small demo shop for `cli.ts --demo` (and for anyone who wants a populated emulator).
import type { Control } from "./control.ts";

export const DEMO_SHOP = "demo.myshopify.com";
export const DEMO_CLIENT_ID = "tillbridge-demo-client";
export const DEMO_CLIENT_SECRET = "tillbridge-demo-secret";
export const DEMO_SCOPES = [
  "read_products",
  "write_products",
  "read_inventory",
  "write_inventory",
  "read_locations",
  "read_orders",
  "write_orders",
  "read_customers",
  "read_fulfillments",
  "write_fulfillments",
  "read_merchant_managed_fulfillment_orders",
  "write_merchant_managed_fulfillment_orders",
  "read_returns",
  "write_returns",
];

export interface DemoSeed {
  shop: string;
  clientId: string;
  clientSecret: string;
  accessToken: string;
  locations: { id: string; name: string }[];
  skus: string[];
}

/** `clientSecret`: the app secret that signs the demo shop's webhooks (the hub's demo passes a random one). */
export function seedDemo(control: Control, options: { clientSecret?: string } = {}): DemoSeed {
  const clientSecret = options.clientSecret ?? DEMO_CLIENT_SECRET;
  control.createApp({
    name: "Tillbridge",
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    scopes: DEMO_SCOPES,
  });
  control.createShop({ domain: DEMO_SHOP, name: "Demo Outfitters", plan: "standard" });
  const main = control.createLocation(DEMO_SHOP, { name: "Main Warehouse" });
  const store = control.createLocation(DEMO_SHOP, { name: "City Store" });
  const catalog: { title: string; price: string; variants: string[] }[] = [
    { title: "Canvas Tote", price: "24.00", variants: ["Natural", "Black"] },
    { title: "Wool Beanie", price: "18.00", variants: ["Grey", "Navy", "Red"] },
    { title: "Trail Socks", price: "12.00", variants: ["S", "M", "L"] },
    { title: "Enamel Mug", price: "15.00", variants: ["Default Title"] },
  ];
  const skus: string[] = [];
  catalog.forEach((p, i) => {
    control.createProduct(DEMO_SHOP, {
      title: p.title,
      vendor: "Demo Outfitters",
      variants: p.variants.map((v, j) => {
        const sku = `DEMO-${i + 1}${String.fromCharCode(65 + j)}`;
        skus.push(sku);
        return {
          sku,
          barcode: `400000${i}${j}`,
          price: p.price,
          options: [
            {
              name:
                v === "Default Title"
                  ? "Title"
                  : p.variants.length === 3 && /^[SML]$/.test(v)
                    ? "Size"
                    : "Color",
              value: v,
            },
          ],
          inventory: { [main.id]: 20 + j * 5, [store.id]: 3 },
        };
      }),
    });
  });
  const { accessToken } = control.mintToken({ shop: DEMO_SHOP, clientId: DEMO_CLIENT_ID });
  return {
    shop: DEMO_SHOP,
    clientId: DEMO_CLIENT_ID,
    clientSecret,
    accessToken,
    locations: [main, store].map((l) => ({ id: l.id, name: l.name })),
    skus,
  };
}
