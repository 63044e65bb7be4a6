import { Thrift, type TProtocol } from 'thrift';
import type {
  FieldSchema,
  HiveDatabase,
  HivePartition,
  HiveTable,
  SerDeInfo,
  StorageDescriptor,
} from './table-definition.js';

/*
 * Hand-written Thrift encoders and decoders for the few Hive Metastore structs logrelay uses,
 * on the `thrift` package's protocol classes. Field ids and types are those of Hive 4.0.1's
 * hive_metastore.thrift (checked against the generated Java classes of
 * hive-standalone-metastore-common 4.0.1). Decoders read the fields they know and skip the rest,
 * so newer metastores that add fields still decode.
 */

const T = Thrift.Type;

// ---- writing ----------------------------------------------------------------------------------

function writeString(p: TProtocol, id: number, value: string | undefined): void {
  if (value === undefined) return;
  p.writeFieldBegin('', T.STRING, id);
  p.writeString(value);
  p.writeFieldEnd();
}

function writeI32(p: TProtocol, id: number, value: number): void {
  p.writeFieldBegin('', T.I32, id);
  p.writeI32(value);
  p.writeFieldEnd();
}

function writeBool(p: TProtocol, id: number, value: boolean): void {
  p.writeFieldBegin('', T.BOOL, id);
  p.writeBool(value);
  p.writeFieldEnd();
}

function writeStringMap(p: TProtocol, id: number, map: Readonly<Record<string, string>>): void {
  const entries = Object.entries(map);
  p.writeFieldBegin('', T.MAP, id);
  p.writeMapBegin(T.STRING, T.STRING, entries.length);
  for (const [k, v] of entries) {
    p.writeString(k);
    p.writeString(v);
  }
  p.writeMapEnd();
  p.writeFieldEnd();
}

function writeStringList(p: TProtocol, id: number, list: readonly string[]): void {
  p.writeFieldBegin('', T.LIST, id);
  p.writeListBegin(T.STRING, list.length);
  for (const s of list) p.writeString(s);
  p.writeListEnd();
  p.writeFieldEnd();
}

function writeStructList<V>(
  p: TProtocol,
  id: number,
  list: readonly V[],
  write: (p: TProtocol, v: V) => void,
): void {
  p.writeFieldBegin('', T.LIST, id);
  p.writeListBegin(T.STRUCT, list.length);
  for (const v of list) write(p, v);
  p.writeListEnd();
  p.writeFieldEnd();
}

function writeStructField<V>(
  p: TProtocol,
  id: number,
  value: V,
  write: (p: TProtocol, v: V) => void,
): void {
  p.writeFieldBegin('', T.STRUCT, id);
  write(p, value);
  p.writeFieldEnd();
}

function struct(p: TProtocol, body: () => void): void {
  p.writeStructBegin('');
  body();
  p.writeFieldStop();
  p.writeStructEnd();
}

export function writeFieldSchema(p: TProtocol, f: FieldSchema): void {
  struct(p, () => {
    writeString(p, 1, f.name);
    writeString(p, 2, f.type);
    writeString(p, 3, f.comment);
  });
}

export function writeSerDeInfo(p: TProtocol, s: SerDeInfo): void {
  struct(p, () => {
    writeString(p, 1, s.name);
    writeString(p, 2, s.serializationLib);
    writeStringMap(p, 3, s.parameters);
  });
}

export function writeStorageDescriptor(p: TProtocol, sd: StorageDescriptor): void {
  struct(p, () => {
    writeStructList(p, 1, sd.cols, writeFieldSchema);
    writeString(p, 2, sd.location);
    writeString(p, 3, sd.inputFormat);
    writeString(p, 4, sd.outputFormat);
    writeBool(p, 5, sd.compressed);
    writeI32(p, 6, sd.numBuckets);
    writeStructField(p, 7, sd.serdeInfo, writeSerDeInfo);
    writeStringList(p, 8, sd.bucketCols);
    writeStructList(p, 9, [], () => undefined); // sortCols: list<Order>, always empty here
    writeStringMap(p, 10, sd.parameters);
  });
}

/** PrincipalType.USER */
const PRINCIPAL_USER = 1;

export function writeDatabase(p: TProtocol, db: HiveDatabase): void {
  struct(p, () => {
    writeString(p, 1, db.name);
    writeString(p, 2, db.description);
    writeString(p, 3, db.locationUri);
    writeStringMap(p, 4, db.parameters);
    if (db.ownerName !== undefined) {
      writeString(p, 6, db.ownerName);
      writeI32(p, 7, PRINCIPAL_USER);
    }
  });
}

export function writeTable(p: TProtocol, t: HiveTable): void {
  struct(p, () => {
    writeString(p, 1, t.tableName);
    writeString(p, 2, t.dbName);
    writeString(p, 3, t.owner);
    writeI32(p, 4, t.createTime);
    writeI32(p, 5, 0); // lastAccessTime
    writeI32(p, 6, 0); // retention
    writeStructField(p, 7, t.sd, writeStorageDescriptor);
    writeStructList(p, 8, t.partitionKeys, writeFieldSchema);
    writeStringMap(p, 9, t.parameters);
    writeString(p, 12, t.tableType);
    writeI32(p, 18, PRINCIPAL_USER); // ownerType
  });
}

export function writePartition(p: TProtocol, part: HivePartition): void {
  struct(p, () => {
    writeStringList(p, 1, part.values);
    writeString(p, 2, part.dbName);
    writeString(p, 3, part.tableName);
    writeI32(p, 4, part.createTime);
    writeI32(p, 5, 0); // lastAccessTime
    writeStructField(p, 6, part.sd, writeStorageDescriptor);
    writeStringMap(p, 7, part.parameters);
  });
}

/** GetTableRequest { 1: dbName, 2: tblName } */
export function writeGetTableRequest(p: TProtocol, dbName: string, tblName: string): void {
  struct(p, () => {
    writeString(p, 1, dbName);
    writeString(p, 2, tblName);
  });
}

/**
 * The arguments of a call: a struct whose fields are the IDL's parameters, in order (ids from 1).
 * Each entry writes one field.
 */
export function writeArgs(p: TProtocol, fields: readonly ((p: TProtocol) => void)[]): void {
  struct(p, () => {
    for (const f of fields) f(p);
  });
}

export const arg = {
  string:
    (id: number, v: string) =>
    (p: TProtocol): void =>
      writeString(p, id, v),
  bool:
    (id: number, v: boolean) =>
    (p: TProtocol): void =>
      writeBool(p, id, v),
  i16:
    (id: number, v: number) =>
    (p: TProtocol): void => {
      p.writeFieldBegin('', T.I16, id);
      p.writeI16(v);
      p.writeFieldEnd();
    },
  struct:
    <V>(id: number, v: V, write: (p: TProtocol, v: V) => void) =>
    (p: TProtocol): void =>
      writeStructField(p, id, v, write),
};

// ---- reading ----------------------------------------------------------------------------------

/**
 * Reads a struct, handing each field to `onField` (id, wire type); fields it does not take
 * (returns false) are skipped.
 */
export function readStruct(p: TProtocol, onField: (id: number, type: number) => boolean): void {
  p.readStructBegin();
  for (;;) {
    const f = p.readFieldBegin();
    if (f.ftype === T.STOP) break;
    if (!onField(f.fid, f.ftype)) p.skip(f.ftype);
    p.readFieldEnd();
  }
  p.readStructEnd();
}

function readStringMap(p: TProtocol): Record<string, string> {
  const m = p.readMapBegin();
  const out: Record<string, string> = {};
  for (let i = 0; i < m.size; i++) {
    if (m.ktype === T.STRING && m.vtype === T.STRING) {
      const k = p.readString();
      out[k] = p.readString();
    } else {
      p.skip(m.ktype);
      p.skip(m.vtype);
    }
  }
  p.readMapEnd();
  return out;
}

function readList<V>(p: TProtocol, elementType: number, read: (p: TProtocol) => V): V[] {
  const l = p.readListBegin();
  const out: V[] = [];
  for (let i = 0; i < l.size; i++) {
    if (l.etype === elementType) out.push(read(p));
    else p.skip(l.etype);
  }
  p.readListEnd();
  return out;
}

const readStr = (p: TProtocol): string => p.readString();

export function readFieldSchema(p: TProtocol): FieldSchema {
  let name = '';
  let type = '';
  let comment: string | undefined;
  readStruct(p, (id, t) => {
    if (t !== T.STRING) return false;
    if (id === 1) name = p.readString();
    else if (id === 2) type = p.readString();
    else if (id === 3) comment = p.readString();
    else return false;
    return true;
  });
  return comment === undefined ? { name, type } : { name, type, comment };
}

export function readSerDeInfo(p: TProtocol): SerDeInfo {
  let name: string | undefined;
  let serializationLib = '';
  let parameters: Record<string, string> = {};
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.STRING) name = p.readString();
    else if (id === 2 && t === T.STRING) serializationLib = p.readString();
    else if (id === 3 && t === T.MAP) parameters = readStringMap(p);
    else return false;
    return true;
  });
  return name === undefined
    ? { serializationLib, parameters }
    : { name, serializationLib, parameters };
}

export function readStorageDescriptor(p: TProtocol): StorageDescriptor {
  const sd = {
    cols: [] as FieldSchema[],
    location: '',
    inputFormat: '',
    outputFormat: '',
    compressed: false,
    numBuckets: -1,
    serdeInfo: { serializationLib: '', parameters: {} } as SerDeInfo,
    bucketCols: [] as string[],
    parameters: {} as Record<string, string>,
  };
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.LIST) sd.cols = readList(p, T.STRUCT, readFieldSchema);
    else if (id === 2 && t === T.STRING) sd.location = p.readString();
    else if (id === 3 && t === T.STRING) sd.inputFormat = p.readString();
    else if (id === 4 && t === T.STRING) sd.outputFormat = p.readString();
    else if (id === 5 && t === T.BOOL) sd.compressed = p.readBool();
    else if (id === 6 && t === T.I32) sd.numBuckets = p.readI32();
    else if (id === 7 && t === T.STRUCT) sd.serdeInfo = readSerDeInfo(p);
    else if (id === 8 && t === T.LIST) sd.bucketCols = readList(p, T.STRING, readStr);
    else if (id === 10 && t === T.MAP) sd.parameters = readStringMap(p);
    else return false;
    return true;
  });
  return sd;
}

const EMPTY_SD: StorageDescriptor = {
  cols: [],
  location: '',
  inputFormat: '',
  outputFormat: '',
  compressed: false,
  numBuckets: -1,
  serdeInfo: { serializationLib: '', parameters: {} },
  bucketCols: [],
  parameters: {},
};

export function readDatabase(p: TProtocol): HiveDatabase {
  const db: {
    name: string;
    description?: string;
    locationUri?: string;
    parameters: Record<string, string>;
    ownerName?: string;
  } = { name: '', parameters: {} };
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.STRING) db.name = p.readString();
    else if (id === 2 && t === T.STRING) db.description = p.readString();
    else if (id === 3 && t === T.STRING) db.locationUri = p.readString();
    else if (id === 4 && t === T.MAP) db.parameters = readStringMap(p);
    else if (id === 6 && t === T.STRING) db.ownerName = p.readString();
    else return false;
    return true;
  });
  return db;
}

export function readTable(p: TProtocol): HiveTable {
  const t: {
    -readonly [K in keyof HiveTable]: HiveTable[K];
  } = {
    tableName: '',
    dbName: '',
    owner: '',
    createTime: 0,
    sd: EMPTY_SD,
    partitionKeys: [],
    parameters: {},
    tableType: '',
  };
  readStruct(p, (id, type) => {
    if (id === 1 && type === T.STRING) t.tableName = p.readString();
    else if (id === 2 && type === T.STRING) t.dbName = p.readString();
    else if (id === 3 && type === T.STRING) t.owner = p.readString();
    else if (id === 4 && type === T.I32) t.createTime = p.readI32();
    else if (id === 7 && type === T.STRUCT) t.sd = readStorageDescriptor(p);
    else if (id === 8 && type === T.LIST) t.partitionKeys = readList(p, T.STRUCT, readFieldSchema);
    else if (id === 9 && type === T.MAP) t.parameters = readStringMap(p);
    else if (id === 12 && type === T.STRING) t.tableType = p.readString();
    else return false;
    return true;
  });
  return t;
}

/** GetTableResult { 1: required Table table } */
export function readGetTableResult(p: TProtocol): HiveTable | undefined {
  let table: HiveTable | undefined;
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.STRUCT) table = readTable(p);
    else return false;
    return true;
  });
  return table;
}

export function readPartition(p: TProtocol): HivePartition {
  const part: { -readonly [K in keyof HivePartition]: HivePartition[K] } = {
    values: [],
    dbName: '',
    tableName: '',
    createTime: 0,
    sd: EMPTY_SD,
    parameters: {},
  };
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.LIST) part.values = readList(p, T.STRING, readStr);
    else if (id === 2 && t === T.STRING) part.dbName = p.readString();
    else if (id === 3 && t === T.STRING) part.tableName = p.readString();
    else if (id === 4 && t === T.I32) part.createTime = p.readI32();
    else if (id === 6 && t === T.STRUCT) part.sd = readStorageDescriptor(p);
    else if (id === 7 && t === T.MAP) part.parameters = readStringMap(p);
    else return false;
    return true;
  });
  return part;
}

export function readPartitionList(p: TProtocol): HivePartition[] {
  return readList(p, T.STRUCT, readPartition);
}

/** The `message` (field 1) of a metastore exception struct (MetaException and its kin). */
export function readExceptionMessage(p: TProtocol): string {
  let message = '';
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.STRING) message = p.readString();
    else return false;
    return true;
  });
  return message;
}

/** TApplicationException { 1: string message, 2: i32 type }: a protocol-level failure. */
export function readApplicationException(p: TProtocol): { message: string; type: number } {
  let message = '';
  let type = 0;
  readStruct(p, (id, t) => {
    if (id === 1 && t === T.STRING) message = p.readString();
    else if (id === 2 && t === T.I32) type = p.readI32();
    else return false;
    return true;
  });
  return { message, type };
}
