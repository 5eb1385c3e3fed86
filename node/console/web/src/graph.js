// Pictures: a record's custody graph (author → each hop → the holder) and the mesh around
// this node, laid out by dagre and drawn as SVG. Every text goes in through textContent:
// names and policies come from other organizations' records.
import dagre from '@dagrejs/dagre';

import { fingerprint } from './proof.js';
import { formatTime, fromHex } from './wire.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// "name (c976:79ec:…)" for a key in hex, with the holder's names for its peers.
export function keyLabel(hex, names, roles = {}) {
  const bytes = fromHex(hex);
  const fp = bytes && bytes.length === 32 ? fingerprint(bytes) : hex.slice(0, 16);
  const name = roles[hex] ?? names[hex];
  return name ? `${name} (${fp})` : fp;
}

// Lays out `nodes` ({id, label, lines, cls}) and `edges` ({from, to, label, cls, data}) left
// to right and returns the SVG element.
function draw(nodes, edges, { className, rankdir = 'LR' }) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep: 40, ranksep: 110, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    const width = Math.max(150, ...n.lines.map((l) => l.length * 7 + 24));
    g.setNode(n.id, { ...n, width, height: 22 + n.lines.length * 16 });
  }
  edges.forEach((e, i) => {
    const width = Math.max(...e.label.map((l) => l.length * 6.2)) + 10;
    g.setEdge(
      e.from,
      e.to,
      { ...e, width, height: e.label.length * 14 + 4, labelpos: 'c' },
      `e${i}`,
    );
  });
  dagre.layout(g);
  const { width, height } = g.graph();
  const root = svg('svg', {
    class: className,
    width: Math.ceil(width),
    height: Math.ceil(height),
    viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
    role: 'img',
  });
  const defs = svg('defs');
  for (const [id, color] of [
    ['arrow', '#334'],
    ['arrow-red', '#c0182a'],
    ['arrow-grey', '#999'],
  ]) {
    const m = svg('marker', {
      id: `${className}-${id}`,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 8,
      markerHeight: 8,
      orient: 'auto-start-reverse',
    });
    m.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: color }));
    defs.append(m);
  }
  root.append(defs);
  for (const ref of g.edges()) drawEdge(root, g.edge(ref), className);
  for (const id of g.nodes()) drawNode(root, g.node(id));
  return root;
}

function drawEdge(root, e, className) {
  const group = svg('g', { class: `edge ${e.cls ?? ''}` });
  for (const [k, v] of Object.entries(e.data ?? {})) group.dataset[k] = v;
  const d = e.points
    .map((p, i) => `${i ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`)
    .join(' ');
  const marker = e.cls?.includes('breach')
    ? 'arrow-red'
    : e.cls?.includes('failed') || e.cls?.includes('mark')
      ? 'arrow-grey'
      : 'arrow';
  group.append(svg('path', { d, 'marker-end': `url(#${className}-${marker})` }));
  const top = e.y - (e.label.length * 14) / 2 + 11;
  // A pale box under the label, so that the line does not run through its text.
  group.append(
    svg('rect', {
      class: 'label-back',
      x: e.x - e.width / 2,
      y: e.y - e.height / 2,
      width: e.width,
      height: e.height,
      rx: 3,
    }),
  );
  e.label.forEach((line, i) => {
    group.append(
      svg(
        'text',
        { x: e.x, y: top + i * 14, 'text-anchor': 'middle', class: i === 0 ? 'edge-title' : '' },
        line,
      ),
    );
  });
  root.append(group);
}

function drawNode(root, n) {
  const group = svg('g', {
    class: `node ${n.cls ?? ''}`,
    transform: `translate(${n.x - n.width / 2}, ${n.y - n.height / 2})`,
  });
  for (const [k, v] of Object.entries(n.data ?? {})) group.dataset[k] = v;
  group.append(svg('rect', { width: n.width, height: n.height, rx: 6 }));
  n.lines.forEach((line, i) => {
    group.append(
      svg(
        'text',
        {
          x: n.width / 2,
          y: 20 + i * 16,
          'text-anchor': 'middle',
          class: i === 0 ? 'node-title' : '',
        },
        line,
      ),
    );
  });
  root.append(group);
}

// The custody graph of a verified bundle (proof.js's verifyBundle result): the author, each
// receiver, and this bundle's holder; one arrow per signed hop with its time and policy; a
// breach in red naming the relay; retractions and supersessions as marks on the author.
export function custodyGraph(v) {
  const names = v.names ?? {};
  const author = v.record.author;
  const roles = {
    [author]: 'author',
    [v.holder]: author === v.holder ? 'author, holder' : 'holder',
  };
  const nodes = new Map();
  const addNode = (hex) => {
    if (nodes.has(hex)) return;
    const role = roles[hex];
    const lines = [
      role ? `${role}${names[hex] ? `: ${names[hex]}` : ''}` : (names[hex] ?? 'relay'),
      keyLabel(hex, {}, {}),
    ];
    nodes.set(hex, {
      id: hex,
      lines,
      cls: role ? role.split(',')[0] : 'relay',
      data: { key: hex },
    });
  };
  addNode(author);
  addNode(v.holder);
  const edges = [];
  v.chains.forEach((chain, i) => {
    chain.hops.forEach((hop, j) => {
      addNode(hop.from);
      addNode(hop.to);
      const breach = chain.breach && chain.breach.hop === j;
      const label = [
        `${v.chains.length > 1 ? `copy ${i + 1}, ` : ''}hop ${j + 1}${hop.ok ? ' ✓ signed' : ' ✗ not verified'}${hop.batch ? ' (batch)' : ''}`,
        formatTime(hop.at),
        `policy: ${hop.policy || '(none)'}`,
      ];
      if (breach) label.push(`VIOLATION by ${keyLabel(hop.from, names)}: ${chain.breach.rule}`);
      edges.push({
        from: hop.from,
        to: hop.to,
        label,
        cls: breach ? 'breach' : hop.ok ? 'signed' : 'failed',
        data: {
          hop: String(j),
          chain: String(i),
          verified: String(hop.ok),
          breach: String(Boolean(breach)),
        },
      });
    });
  });
  v.marks.forEach((m, k) => {
    const id = `mark-${k}`;
    nodes.set(id, {
      id,
      lines: [
        m.type === 'retraction' ? 'RETRACTED' : 'SUPERSEDED',
        `by ${m.id.slice(0, 16)}…`,
        formatTime(m.at),
      ],
      cls: 'mark',
      data: { mark: m.type },
    });
    edges.push({ from: author, to: id, label: [m.type], cls: 'mark', data: { mark: m.type } });
  });
  return draw([...nodes.values()], edges, { className: 'custody' });
}

// This node and its peers: one box per peer, coloured by state, with what crossed each link.
export function meshPicture(self, peers) {
  const nodes = [
    {
      id: 'self',
      lines: ['this node', self.name ?? '', self.fingerprint ?? ''].filter(Boolean),
      cls: 'holder',
      data: { self: 'true' },
    },
  ];
  const edges = [];
  for (const p of peers) {
    const id = `peer:${p.name}`;
    nodes.push({
      id,
      lines: [p.name, p.connected ? 'connected' : 'not connected', p.fingerprint ?? ''].filter(
        Boolean,
      ),
      cls: p.connected ? 'up' : 'down',
      data: { peer: p.name, connected: String(p.connected) },
    });
    edges.push({
      from: 'self',
      to: id,
      label: [
        `sent ${p.sent} · received ${p.received}`,
        `lag ${p.lag}${p.violations ? ` · ${p.violations} violations` : ''}`,
      ],
      cls: p.violations ? 'breach' : p.connected ? 'signed' : 'failed',
      data: { peer: p.name },
    });
  }
  return draw(nodes, edges, { className: 'mesh', rankdir: 'TB' });
}
