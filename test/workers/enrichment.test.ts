import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { FORWARDED_IP_HEADER, FORWARDED_UA_HEADER } from '../../workers/enrichment.ts';
import { queryRows } from './aggregation-support.ts';
import { edgeWithShardRecorder } from './edge-support.ts';
import { bearer, createTestProject, flushAllShards, shardStub, sleep, uniqueEventType, type TestProject } from './helpers.ts';

const BROWSER_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const OTHER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const GOOGLEBOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
/** As Cloudflare attaches it to a request from Frankfurt. */
const CF_FRANKFURT = { country: 'DE', region: 'Hesse', city: 'Frankfurt am Main', continent: 'EU', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 };
/** Documentation addresses (RFC 5737 / RFC 3849): unmistakable if they ever showed up in storage. */
const IP_A = '192.0.2.77';
const IP_B = '198.51.100.23';
const IP_V6 = '2001:db8::7:77';

interface RawRow {
  event_id: string;
  user_id: string;
  dims: Record<string, string>;
  bot: number;
}

function post(edge: ReturnType<typeof edgeWithShardRecorder>, key: string, events: object[], headers: Record<string, string>, cf?: RequestInit['cf']): Promise<Response> {
  return edge.fetch('/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...bearer(key), ...headers },
    body: JSON.stringify({ events }),
    ...(cf !== undefined ? { cf } : {}),
  });
}

function anonymous(eventType: string, tag: string, n = 2, dimensions: Record<string, string> = {}): object[] {
  return Array.from({ length: n }, (_, i) => ({ eventId: `${eventType}-${tag}-${i}`, eventType, timestamp: Date.now() - 2_000, dimensions }));
}

async function rawRows(project: TestProject, eventType: string): Promise<RawRow[]> {
  await sleep(1100);
  await flushAllShards(project.projectId);
  const rows = await queryRows('SELECT event_id, user_id, dims, bot FROM events_raw WHERE project_id = {p:String} AND event_type = {t:String} ORDER BY event_id', {
    p: project.projectId,
    t: eventType,
  });
  return rows.filter((row): row is RawRow => typeof row === 'object' && row !== null && 'user_id' in row && 'event_id' in row);
}

describe('visitor ids from CF-Connecting-IP', () => {
  it('are stable per IP + User-Agent, differ by IP, UA and project, and the raw IP is stored nowhere', async () => {
    const a = await createTestProject();
    const b = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('visitor');
    const send = (project: TestProject, tag: string, ip: string, ua: string) =>
      post(edge, project.keys.public, anonymous(eventType, tag), { 'CF-Connecting-IP': ip, 'User-Agent': ua });
    for (const response of [
      await send(a, 'a1', IP_A, BROWSER_UA),
      await send(a, 'a2', IP_A, BROWSER_UA),
      await send(a, 'a3', IP_B, BROWSER_UA),
      await send(a, 'a4', IP_A, OTHER_UA),
      await send(a, 'a5', IP_V6, BROWSER_UA),
      await send(b, 'b1', IP_A, BROWSER_UA),
    ]) {
      expect(response.status).toBe(202);
    }
    const rowsA = await rawRows(a, eventType);
    const rowsB = await rawRows(b, eventType);
    const visitorOf = (rows: RawRow[], tag: string) => [...new Set(rows.filter((row) => row.event_id.includes(`-${tag}-`)).map((row) => row.user_id))];
    const [a1] = visitorOf(rowsA, 'a1');
    expect(visitorOf(rowsA, 'a1')).toEqual([a1]);
    expect(a1).toMatch(/^v_[0-9a-f]{32}$/);
    // Same IP and UA: the same visitor (uniques work without cookies).
    expect(visitorOf(rowsA, 'a2')).toEqual([a1]);
    // Another IP, another UA, another project: another visitor.
    const others = [visitorOf(rowsA, 'a3')[0], visitorOf(rowsA, 'a4')[0], visitorOf(rowsA, 'a5')[0], visitorOf(rowsB, 'b1')[0]];
    expect(new Set([a1, ...others]).size).toBe(5);

    // The raw IPs appear nowhere: not in ClickHouse, not in what the edge sent, not in the shards' or the registry's storage.
    const ips = [IP_A, IP_B, IP_V6];
    const everything = JSON.stringify(
      await queryRows('SELECT * FROM events_raw WHERE project_id IN ({a:String}, {b:String})', { a: a.projectId, b: b.projectId }),
    ) + JSON.stringify(await queryRows('SELECT * FROM events_1m WHERE project_id IN ({a:String}, {b:String})', { a: a.projectId, b: b.projectId }));
    const sent = JSON.stringify(edge.calls.map((call) => call.request));
    for (const ip of ips) {
      expect(everything).not.toContain(ip);
      expect(sent).not.toContain(ip);
    }
    const stored: string[] = [];
    const dumpStorage = async (stub: DurableObjectStub) =>
      runInDurableObject(stub, (_instance, state) => {
        const tables = state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray();
        for (const { name } of tables) stored.push(JSON.stringify(state.storage.sql.exec(`SELECT * FROM "${name.replaceAll('"', '""')}"`).toArray()));
      });
    for (const project of [a, b]) for (let shard = 0; shard < Number(env.SHARD_COUNT); shard++) await dumpStorage(shardStub(shard, project.projectId));
    await dumpStorage(env.PROJECT_REGISTRY.get(env.PROJECT_REGISTRY.idFromName('registry')));
    expect(stored.join('').length).toBeGreaterThan(0);
    for (const ip of ips) expect(stored.join('')).not.toContain(ip);
  });

  it('server keys use the end user IP and UA they forward, never their own', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('forwarded');
    const forwarded = { [FORWARDED_IP_HEADER]: IP_A, [FORWARDED_UA_HEADER]: BROWSER_UA };
    expect((await post(edge, project.keys.server, anonymous(eventType, 's1'), { ...forwarded, 'CF-Connecting-IP': IP_B, 'User-Agent': 'node' })).status).toBe(202);
    expect((await post(edge, project.keys.server, anonymous(eventType, 's2'), { ...forwarded, 'CF-Connecting-IP': '203.0.113.9', 'User-Agent': 'undici' })).status).toBe(202);
    // Nothing forwarded: no visitor, each event counts as its own (uniques by event id).
    expect((await post(edge, project.keys.server, anonymous(eventType, 's3'), { 'CF-Connecting-IP': IP_B, 'User-Agent': BROWSER_UA })).status).toBe(202);
    const rows = await rawRows(project, eventType);
    const users = (tag: string) => [...new Set(rows.filter((row) => row.event_id.includes(`-${tag}-`)).map((row) => row.user_id))];
    expect(users('s1')).toHaveLength(1);
    expect(users('s1')[0]).toMatch(/^v_/);
    expect(users('s2')).toEqual(users('s1'));
    expect(users('s3').sort()).toEqual([`${eventType}-s3-0`, `${eventType}-s3-1`]);
  });
});

describe('geo from request.cf', () => {
  it('overrides client geo for public keys only, and travels city, colo, time zone and ASN for events_raw', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('geo');
    const clientGeo = { country: 'FR', region: 'Brittany', city: 'Brest', campaignId: 'c1' };
    const headers = { 'CF-Connecting-IP': IP_A, 'User-Agent': BROWSER_UA };
    expect((await post(edge, project.keys.public, anonymous(eventType, 'pub', 2, clientGeo), headers, CF_FRANKFURT)).status).toBe(202);
    expect((await post(edge, project.keys.server, anonymous(eventType, 'srv', 2, clientGeo), headers, CF_FRANKFURT)).status).toBe(202);

    const rows = await rawRows(project, eventType);
    const dimsOf = (tag: string) => rows.filter((row) => row.event_id.includes(`-${tag}-`)).map((row) => row.dims);
    // Browser key: the edge's location replaces the client's as a whole (no client city next to the edge's country).
    for (const dims of dimsOf('pub')) expect(dims).toEqual({ campaignId: 'c1', country: 'DE', region: 'Hesse', continent: 'EU', deviceType: 'MOBILE', browser: 'Safari', os: 'iOS' });
    // Server key: its request.cf locates the customer's server, so the client's geo stays as sent.
    for (const dims of dimsOf('srv')) expect(dims).toEqual(clientGeo);
    expect(dimsOf('pub')).toHaveLength(2);
    expect(dimsOf('srv')).toHaveLength(2);

    // City, colo, time zone and ASN: never dimensions, sent per event for the raw table (RAW_EVENTS=1 in tests), public keys only.
    const sent = edge.sentEvents();
    const geoOf = (tag: string) => sent.filter((event) => String(event.eventId).includes(`-${tag}-`)).map((event) => event.geo);
    expect(geoOf('pub')).toEqual([
      { city: 'Frankfurt am Main', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 },
      { city: 'Frankfurt am Main', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 },
    ]);
    expect(geoOf('srv')).toEqual([undefined, undefined]);
    // ... and they land in events_raw's columns (migration 0003): the edge's for browser keys, '' / 0 for server keys.
    const stored = await queryRows(
      'SELECT event_id, city, colo, timezone, toUInt32(asn) AS asn FROM events_raw WHERE project_id = {p:String} AND event_type = {t:String} ORDER BY event_id',
      { p: project.projectId, t: eventType },
    );
    expect(stored).toEqual([
      { event_id: `${eventType}-pub-0`, city: 'Frankfurt am Main', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 },
      { event_id: `${eventType}-pub-1`, city: 'Frankfurt am Main', colo: 'FRA', timezone: 'Europe/Berlin', asn: 3320 },
      { event_id: `${eventType}-srv-0`, city: '', colo: '', timezone: '', asn: 0 },
      { event_id: `${eventType}-srv-1`, city: '', colo: '', timezone: '', asn: 0 },
    ]);
  });

  it('sends no raw geo when raw events are off', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder({ RAW_EVENTS: '0' });
    const eventType = uniqueEventType('geo_off');
    expect((await post(edge, project.keys.public, anonymous(eventType, 'off'), { 'CF-Connecting-IP': IP_A, 'User-Agent': BROWSER_UA }, CF_FRANKFURT)).status).toBe(202);
    expect(edge.sentEvents().map((event) => event.geo)).toEqual([undefined, undefined]);
  });
});

describe('bots', () => {
  it('counts bot traffic in bot_events, never in events: by UA for public keys, by the forwarded UA for server keys', async () => {
    const project = await createTestProject();
    const edge = edgeWithShardRecorder();
    const eventType = uniqueEventType('bots');
    const sendPublic = (tag: string, ua: string, cf?: RequestInit['cf']) => post(edge, project.keys.public, anonymous(eventType, tag, 3), { 'CF-Connecting-IP': IP_A, 'User-Agent': ua }, cf);
    const sendServer = (tag: string, headers: Record<string, string>) => post(edge, project.keys.server, anonymous(eventType, tag, 3), headers);
    expect((await sendPublic('crawler', GOOGLEBOT)).status).toBe(202);
    // A human-looking UA that Bot Management scored as automated.
    expect((await sendPublic('scored', BROWSER_UA, { ...CF_FRANKFURT, botManagement: { score: 2, verifiedBot: false } })).status).toBe(202);
    expect((await sendPublic('human', BROWSER_UA)).status).toBe(202);
    expect((await sendServer('fwd_bot', { [FORWARDED_UA_HEADER]: GOOGLEBOT })).status).toBe(202);
    expect((await sendServer('fwd_human', { [FORWARDED_UA_HEADER]: BROWSER_UA, 'User-Agent': 'curl/8.5.0' })).status).toBe(202);
    // A server key's own UA (an HTTP library) says nothing about its users.
    expect((await sendServer('own_ua', { 'User-Agent': 'curl/8.5.0' })).status).toBe(202);

    const rows = await rawRows(project, eventType);
    const botsOf = (tag: string) => rows.filter((row) => row.event_id.includes(`-${tag}-`)).map((row) => row.bot);
    expect(botsOf('crawler')).toEqual([1, 1, 1]);
    expect(botsOf('scored')).toEqual([1, 1, 1]);
    expect(botsOf('human')).toEqual([0, 0, 0]);
    expect(botsOf('fwd_bot')).toEqual([1, 1, 1]);
    expect(botsOf('fwd_human')).toEqual([0, 0, 0]);
    expect(botsOf('own_ua')).toEqual([0, 0, 0]);
    const [totals] = await queryRows(
      'SELECT toUInt32(sum(events)) AS events, toUInt32(sum(bot_events)) AS bot_events FROM events_1m WHERE project_id = {p:String} AND event_type = {t:String}',
      { p: project.projectId, t: eventType },
    );
    expect(totals).toEqual({ events: 9, bot_events: 9 });
  });
});
