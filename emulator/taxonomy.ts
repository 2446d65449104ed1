// The part of Shopify's product taxonomy the emulator knows. Shopify refuses a `productSet` whose
// category is not a taxonomy category; the real taxonomy (github.com/Shopify/product-taxonomy,
// dist/en/categories.txt) has about 10,000 of them, too many to vendor for a test double, so the
// emulator holds two verticals' worth of real entries (ids and full names as in that file) and
// treats every other id as unknown. Tests and demos use ids from this list.

const SAMPLE: readonly (readonly [string, string])[] = [
  ["ap", "Animals & Pet Supplies"],
  ["ap-1", "Animals & Pet Supplies > Live Animals"],
  ["ap-2", "Animals & Pet Supplies > Pet Supplies"],
  ["ap-2-1", "Animals & Pet Supplies > Pet Supplies > Bird Supplies"],
  ["ap-2-2", "Animals & Pet Supplies > Pet Supplies > Cat Supplies"],
  ["ap-2-2-1", "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Food"],
  ["ap-2-2-5", "Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Toys"],
  ["ap-2-3", "Animals & Pet Supplies > Pet Supplies > Dog Supplies"],
  ["ap-2-3-3", "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Food"],
  ["ap-2-3-7", "Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Toys"],
  ["ap-2-4", "Animals & Pet Supplies > Pet Supplies > Fish & Aquatic Supplies"],
  ["aa", "Apparel & Accessories"],
  ["aa-1", "Apparel & Accessories > Clothing"],
  ["aa-1-4", "Apparel & Accessories > Clothing > Dresses"],
  ["aa-1-6", "Apparel & Accessories > Clothing > Lingerie"],
  ["aa-1-7", "Apparel & Accessories > Clothing > Maternity Clothing"],
  ["aa-1-8", "Apparel & Accessories > Clothing > Men's Undergarments"],
  ["aa-1-9", "Apparel & Accessories > Clothing > One-Pieces"],
  ["aa-1-10", "Apparel & Accessories > Clothing > Outerwear"],
  ["aa-1-10-2", "Apparel & Accessories > Clothing > Outerwear > Coats & Jackets"],
  ["aa-1-10-6", "Apparel & Accessories > Clothing > Outerwear > Vests"],
  ["aa-1-11", "Apparel & Accessories > Clothing > Outfit Sets"],
  ["aa-1-12", "Apparel & Accessories > Clothing > Pants"],
  ["aa-1-12-3", "Apparel & Accessories > Clothing > Pants > Chinos"],
  ["aa-1-12-4", "Apparel & Accessories > Clothing > Pants > Jeans"],
  ["aa-1-13", "Apparel & Accessories > Clothing > Clothing Tops"],
  ["aa-1-13-3", "Apparel & Accessories > Clothing > Clothing Tops > Cardigans"],
  ["aa-1-13-5", "Apparel & Accessories > Clothing > Clothing Tops > Overshirts"],
  ["aa-1-13-6", "Apparel & Accessories > Clothing > Clothing Tops > Polos"],
  ["aa-1-13-7", "Apparel & Accessories > Clothing > Clothing Tops > Shirts"],
  ["aa-1-13-8", "Apparel & Accessories > Clothing > Clothing Tops > T-Shirts"],
  ["aa-1-13-9", "Apparel & Accessories > Clothing > Clothing Tops > Tank Tops"],
  ["aa-1-13-11", "Apparel & Accessories > Clothing > Clothing Tops > Tunics"],
  ["aa-1-13-12", "Apparel & Accessories > Clothing > Clothing Tops > Sweaters"],
  ["aa-1-13-13", "Apparel & Accessories > Clothing > Clothing Tops > Hoodies"],
  ["aa-1-13-14", "Apparel & Accessories > Clothing > Clothing Tops > Sweatshirts"],
];

const PREFIX = "gid://shopify/TaxonomyCategory/";
const BY_GID = new Map(SAMPLE.map(([id, fullName]) => [PREFIX + id, fullName]));

export interface TaxonomyCategory {
  readonly id: string;
  readonly name: string;
  readonly fullName: string;
}

/** The category with this GID, or undefined when the taxonomy has none. */
export function taxonomyCategory(gid: string): TaxonomyCategory | undefined {
  const fullName = BY_GID.get(gid);
  if (fullName === undefined) return undefined;
  return { id: gid, name: fullName.split(" > ").at(-1)!, fullName };
}
