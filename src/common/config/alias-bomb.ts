import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, visit } from 'yaml';
import type { Alias, Document, Node } from 'yaml';
import { formatKeyPath } from './key-path.js';

/**
 * The most alias expansions a configuration may use, counted as the yaml library counts them
 * (its own default `maxAliasCount`). Configuration files have no reason to come close.
 */
export const maxAliasCount = 100;

interface AnchorUse {
  count: number;
  aliasCount: number;
}

/**
 * The key path of the alias at which `doc` exceeds {@link maxAliasCount} ("billion laughs"), or
 * undefined when it does not. The yaml library refuses such a document too, but only while
 * converting it and with a message that names neither the file nor the key; this replays the
 * library's count (Alias.resolve and getAliasCount in yaml 2.x) over the tree in the same
 * depth-first order, so the alias it names is the one at which the conversion would stop.
 */
export function findAliasBomb(doc: Document): string | undefined {
  // Anchors and aliases in document order: an alias refers to the last anchor of its name before it.
  const ordered: Node[] = [];
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node) || node.anchor) ordered.push(node);
    },
  });
  const position = new Map(ordered.map((node, i) => [node, i]));
  const uses = new Map<Node, AnchorUse>();

  const resolve = (alias: Alias): Node | undefined => {
    const end = position.get(alias) ?? ordered.length;
    for (let i = end - 1; i >= 0; i--) {
      const node = ordered[i];
      if (node && !isAlias(node) && node.anchor === alias.source) return node;
    }
    return undefined;
  };

  const aliasCount = (node: unknown): number => {
    if (isAlias(node)) {
      const source = resolve(node);
      const use = source && uses.get(source);
      return use ? use.count * use.aliasCount : 0;
    }
    if (isCollection(node)) {
      let max = 0;
      for (const item of node.items) max = Math.max(max, aliasCount(item));
      return max;
    }
    if (isPair(node)) return Math.max(aliasCount(node.key), aliasCount(node.value));
    return 1;
  };

  const walk = (node: unknown, path: PropertyKey[]): string | undefined => {
    if (isAlias(node)) {
      const source = resolve(node);
      const use = source && uses.get(source);
      if (!use) return undefined; // an unresolved alias: the conversion reports it
      use.count += 1;
      if (use.aliasCount === 0) use.aliasCount = aliasCount(source);
      return use.count * use.aliasCount > maxAliasCount ? formatKeyPath(path) : undefined;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) {
      if (node.anchor) uses.set(node, { count: 1, aliasCount: 0 });
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const found = walk(pair.key, [...path, key]) ?? walk(pair.value, [...path, key]);
        if (found !== undefined) return found;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const found = walk(item, [...path, i]);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };

  return walk(doc.contents, []);
}
