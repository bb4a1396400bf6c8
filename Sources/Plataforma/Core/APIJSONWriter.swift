import Foundation
import NIOConcurrencyHelpers
import Vapor

/// The API's JSON writer: the same bytes as `APIJSON.encoder` (Foundation's `JSONEncoder` with
/// snake_case keys, ISO 8601 dates, sorted keys and unescaped slashes), written in one pass into one
/// byte array instead of through a tree of boxed values serialized afterwards.
///
/// How: every value is written where it lands; a keyed container remembers where each of its
/// values starts and ends, and when the value that opened it is done, it rewrites its own span in
/// key order with the keys in front. Nested containers opened with `nestedContainer(keyedBy:forKey:)`
/// or `superEncoder()` (which outlive that order) write into a child writer that the parent copies
/// in when it is done.
///
/// What it does as Foundation does, and the tests hold it to (`APIJSONWriterTests`): keys through
/// `convertToSnakeCase` except the keys of `[String: _]` dictionaries; keys ordered as `.sortedKeys`
/// orders them, the last value written under a repeated key kept; dates as `ISO8601DateFormatter`
/// writes them; doubles without a trailing `.0`, NaN and infinities refused; `Data` as base64; `URL`
/// as its absolute string; a value that writes nothing is `{}`. `codingPath` is always empty.
public struct APIJSONWriter: ContentEncoder, Sendable {
    /// Whether every answer is also encoded by `APIJSON.encoder` and compared (tests).
    public let verifying: Bool

    public init(verifying: Bool = false) {
        self.verifying = verifying
    }

    public func encode<E: Encodable>(_ encodable: E, to body: inout ByteBuffer, headers: inout HTTPHeaders) throws {
        try encode(encodable, to: &body, headers: &headers, userInfo: [:])
    }

    public func encode<E: Encodable>(_ encodable: E, to body: inout ByteBuffer, headers: inout HTTPHeaders,
                                     userInfo: [CodingUserInfoKey: any Sendable]) throws {
        headers.contentType = .json
        let bytes = try Self.encode(encodable, userInfo: userInfo)
        if verifying {
            let expected = try APIJSON.encoder.encode(encodable)
            guard bytes.elementsEqual(expected) else { throw Mismatch(ours: bytes, foundation: Array(expected), type: "\(E.self)") }
        }
        body.writeBytes(bytes)
    }

    /// What the verification found: the two encodings of one value differ.
    public struct Mismatch: Error, CustomStringConvertible {
        public let ours: [UInt8]
        public let foundation: [UInt8]
        public let type: String
        public var description: String {
            "APIJSONWriter and JSONEncoder differ on \(type):\n ours:       \(String(decoding: ours, as: UTF8.self))\n foundation: \(String(decoding: foundation, as: UTF8.self))"
        }
    }

    /// The value's JSON, as bytes.
    public static func encode<E: Encodable>(_ value: E, userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws -> [UInt8] {
        let writer = JSONByteWriter(userInfo: userInfo)
        try writer.writeValue(value)
        return writer.out
    }
}

// MARK: - Keys

/// Snake-case conversion and key order, as Foundation's encoder does them.
enum JSONKeys {
    /// A key with no ASCII capital and no byte above ASCII converts to itself (Foundation splits
    /// words at capitals and lowercases each). Anything else is converted once by Foundation itself
    /// and kept, up to a bound (keys come from `CodingKeys`, a finite set; the bound only matters
    /// for keys made from data).
    static func snakeCase(_ key: String) -> String {
        var plain = true
        for byte in key.utf8 where byte >= 0x80 || (byte >= 0x41 && byte <= 0x5A) {
            plain = false
            break
        }
        if plain { return key }
        if let known = converted.withLockedValue({ $0[key] }) { return known }
        let result = foundationSnakeCase(key)
        converted.withLockedValue { cache in
            if cache.count < 4096 { cache[key] = result }
        }
        return result
    }

    private static let converted = NIOLockedValueBox<[String: String]>([:])

    /// Foundation's own conversion: encode one key with its strategy and read it back.
    private static func foundationSnakeCase(_ key: String) -> String {
        struct One: Encodable {
            let key: String
            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: DynamicKey.self)
                try container.encodeNil(forKey: DynamicKey(key))
            }
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(One(key: key)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let converted = object.keys.first else { return key }
        return converted
    }

    /// Whether `a` goes before `b` under `.sortedKeys`: Swift's string order (for ASCII keys, byte
    /// order: "B" < "_x" < "a10" < "a9").
    static func precedes(_ a: String, _ b: String) -> Bool { a < b }
}

/// Marks `[String: Value]`: Foundation writes its keys as they are, without the key strategy.
protocol JSONStringKeyedDictionary {
    func writeEntries(to writer: JSONByteWriter) throws
}

extension Dictionary: JSONStringKeyedDictionary where Key == String, Value: Encodable {
    func writeEntries(to writer: JSONByteWriter) throws {
        let frame = writer.openKeyed()
        for (key, value) in self {
            let start = writer.out.count
            try writer.writeValue(value)
            writer.record(key: key, start: start, in: frame)
        }
    }
}

// MARK: - The writer

/// One encoding: the output, and the containers still open, innermost last.
final class JSONByteWriter {
    var out: [UInt8]
    let userInfo: [CodingUserInfoKey: Any]
    private var frames: [Frame] = []
    /// Frames at or above this index belong to the value being written now.
    private var level = 0

    struct Entry {
        var key: String
        var start: Int
        var end: Int
        var child: ChildWriter?
    }

    enum Kind { case keyed, unkeyed }

    struct Frame {
        var kind: Kind
        var base: Int
        /// A keyed container's values, in the order written.
        var entries: [Entry] = []
        /// An unkeyed container's element count, and the elements written by child writers
        /// (nested containers), each with the place in `out` it goes.
        var count = 0
        var children: [(position: Int, child: ChildWriter)] = []
    }

    init(userInfo: [CodingUserInfoKey: Any]) {
        self.userInfo = userInfo
        out = []
        out.reserveCapacity(4096)
    }

    // MARK: Values

    /// Writes one whole value where the output ends.
    func writeValue<T: Encodable>(_ value: T) throws {
        // Metatype comparisons first: cheaper than a dynamic cast for every nested value.
        if T.self == String.self { writeString(value as! String) }
        else if T.self == Date.self { writeDate(value as! Date) }
        else if T.self == Int.self { writeInteger(value as! Int) }
        else if T.self == Double.self { try writeDouble(value as! Double) }
        else if T.self == Bool.self { writeBool(value as! Bool) }
        else if T.self == URL.self { writeString((value as! URL).absoluteString) }
        else if T.self == Data.self { writeString((value as! Data).base64EncodedString()) }
        else if T.self == Decimal.self { writeRaw((value as! Decimal).description) }
        else if let dictionary = value as? JSONStringKeyedDictionary { try nested { try dictionary.writeEntries(to: self) } }
        else { try nested { try value.encode(to: JSONByteEncoder(writer: self)) } }
    }

    /// Runs a value's own encoding as one level: the containers it opens close when it returns.
    private func nested(_ body: () throws -> Void) throws {
        let savedLevel = level
        let depth = frames.count
        level = depth
        defer { level = savedLevel }
        let start = out.count
        try body()
        while frames.count > depth { try close() }
        if out.count == start { out.append(contentsOf: [0x7B, 0x7D]) }  // nothing written: {}
    }

    func writeNull() { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    func writeBool(_ value: Bool) {
        if value { out.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) } else { out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) }
    }

    func writeInteger<I: BinaryInteger>(_ value: I) {
        if value >= 0 && value < 10 {
            out.append(0x30 + UInt8(value))
        } else {
            out.append(contentsOf: String(value).utf8)
        }
    }

    func writeFloat(_ value: Float) throws { try writeFloatingPoint(value) }
    func writeDouble(_ value: Double) throws { try writeFloatingPoint(value) }

    /// The shortest text that reads back as the same value, without a trailing `.0`.
    private func writeFloatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Unable to encode \(value) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }

    func writeRaw(_ text: String) { out.append(contentsOf: text.utf8) }

    func writeString(_ value: String) {
        out.append(0x22)
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if runStart < index { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x08: out.append(contentsOf: [0x5C, 0x62])
                case 0x0C: out.append(contentsOf: [0x5C, 0x66])
                case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: out.append(contentsOf: [0x5C, 0x72])
                case 0x09: out.append(contentsOf: [0x5C, 0x74])
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        }
        out.append(0x22)
    }

    /// `2026-12-07T21:40:36Z`: whole seconds in UTC, as `ISO8601DateFormatter` writes them.
    func writeDate(_ date: Date) {
        // Outside 1583...9999 (and far outside it, where seconds would not fit an Int) Foundation
        // writes the date itself: before 1583 its calendar is Julian (the Gregorian reform of
        // October 1582), and its rounding of those dates is its own.
        let interval = date.timeIntervalSince1970
        guard interval.magnitude < 3e11 else { return writeFoundationDate(date) }
        let seconds = Int(interval.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let civil = LocalDate(dayNumber: days)
        let (year, month, day) = (civil.year, civil.month, civil.day)
        guard (1583...9999).contains(year) else { return writeFoundationDate(date) }
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(0x30 + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        out.append(0x22)
        digits(year, 4); out.append(0x2D); digits(month, 2); out.append(0x2D); digits(day, 2)
        out.append(0x54)
        digits(secondOfDay / 3_600, 2); out.append(0x3A); digits(secondOfDay / 60 % 60, 2); out.append(0x3A); digits(secondOfDay % 60, 2)
        out.append(contentsOf: [0x5A, 0x22])
    }

    private func writeFoundationDate(_ date: Date) {
        if let encoded = try? APIJSON.encoder.encode(date) { out.append(contentsOf: encoded) } else { writeString(ISO8601DateFormatter().string(from: date)) }
    }

    // MARK: Containers

    /// The keyed container of the value being written: the one it already opened, or a new one.
    func openKeyed() -> Int {
        if frames.count > level, frames[frames.count - 1].kind == .keyed { return frames.count - 1 }
        frames.append(Frame(kind: .keyed, base: out.count))
        return frames.count - 1
    }

    func openUnkeyed() -> Int {
        if frames.count > level, frames[frames.count - 1].kind == .unkeyed { return frames.count - 1 }
        frames.append(Frame(kind: .unkeyed, base: out.count))
        out.append(0x5B)
        return frames.count - 1
    }

    func checkOpen(_ frame: Int) throws {
        guard frame < frames.count else {
            throw EncodingError.invalidValue(frame, EncodingError.Context(
                codingPath: [], debugDescription: "A container was used after the value that opened it was written."))
        }
    }

    func record(key: String, start: Int, in frame: Int) {
        frames[frame].entries.append(Entry(key: key, start: start, end: out.count, child: nil))
    }

    func record(key: String, child: ChildWriter, in frame: Int) {
        frames[frame].entries.append(Entry(key: key, start: out.count, end: out.count, child: child))
    }

    /// Before an element of an unkeyed container: the comma.
    func beginElement(in frame: Int) {
        if frames[frame].count > 0 { out.append(0x2C) }
        frames[frame].count += 1
    }

    func elementCount(_ frame: Int) -> Int { frame < frames.count ? frames[frame].count : 0 }

    /// An element of an unkeyed container written by a nested container: its own writer, put in
    /// place when the array closes.
    func childElement(in frame: Int) -> ChildWriter {
        let child = ChildWriter(userInfo: userInfo)
        guard frame < frames.count else { return child }
        beginElement(in: frame)
        frames[frame].children.append((out.count, child))
        return child
    }

    /// Closes the innermost container: an array gets its `]`; an object rewrites its span as
    /// `{"key":value,…}` in key order.
    private func close() throws {
        let frame = frames.removeLast()
        switch frame.kind {
        case .unkeyed:
            for (position, child) in frame.children.reversed() {
                child.finish()
                out.insert(contentsOf: child.writer.out, at: position)
            }
            out.append(0x5D)
        case .keyed:
            var entries = frame.entries
            for index in entries.indices where entries[index].child != nil {
                entries[index].child!.finish()
            }
            let order = entries.indices.sorted { left, right in
                let a = entries[left].key, b = entries[right].key
                if a == b { return left < right }
                return JSONKeys.precedes(a, b)
            }
            var object: [UInt8] = [0x7B]
            object.reserveCapacity(out.count - frame.base + 16 * entries.count + 2)
            var first = true
            for (position, index) in order.enumerated() {
                // A repeated key: the last value written wins.
                if position + 1 < order.count, entries[order[position + 1]].key == entries[index].key { continue }
                if !first { object.append(0x2C) }
                first = false
                appendString(entries[index].key, to: &object)
                object.append(0x3A)
                if let child = entries[index].child {
                    object.append(contentsOf: child.writer.out)
                } else {
                    object.append(contentsOf: out[entries[index].start..<entries[index].end])
                }
            }
            object.append(0x7D)
            out.removeSubrange(frame.base...)
            out.append(contentsOf: object)
        }
    }

    private func appendString(_ value: String, to buffer: inout [UInt8]) {
        let saved = out
        out = []
        writeString(value)
        buffer.append(contentsOf: out)
        out = saved
    }

    /// Closes whatever is still open (a child writer's containers).
    func finishAll() throws {
        while !frames.isEmpty { try close() }
    }
}

/// A nested container or super encoder: its own writer, copied into the parent when the parent closes.
final class ChildWriter {
    let writer: JSONByteWriter
    init(userInfo: [CodingUserInfoKey: Any]) {
        writer = JSONByteWriter(userInfo: userInfo)
    }

    func finish() {
        try? writer.finishAll()
        if writer.out.isEmpty { writer.out = [0x7B, 0x7D] }
    }
}

// MARK: - Encoder and containers

struct JSONByteEncoder: Encoder {
    let writer: JSONByteWriter
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { writer.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(JSONKeyedContainer<Key>(writer: writer, frame: writer.openKeyed()))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        JSONUnkeyedContainer(writer: writer, frame: writer.openUnkeyed())
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONSingleValueContainer(writer: writer)
    }
}

struct JSONKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: JSONByteWriter
    let frame: Int
    var codingPath: [any CodingKey] { [] }

    private func put(_ key: Key, _ write: () throws -> Void) throws {
        try writer.checkOpen(frame)
        let start = writer.out.count
        try write()
        writer.record(key: JSONKeys.snakeCase(key.stringValue), start: start, in: frame)
    }

    mutating func encodeNil(forKey key: Key) throws { try put(key) { writer.writeNull() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try put(key) { writer.writeBool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { try put(key) { writer.writeString(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try put(key) { try writer.writeDouble(value) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try put(key) { try writer.writeFloat(value) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try put(key) { writer.writeInteger(value) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try put(key) { try writer.writeValue(value) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = ChildWriter(userInfo: writer.userInfo)
        writer.record(key: JSONKeys.snakeCase(key.stringValue), child: child, in: frame)
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(writer: child.writer, frame: child.writer.openKeyed()))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = ChildWriter(userInfo: writer.userInfo)
        writer.record(key: JSONKeys.snakeCase(key.stringValue), child: child, in: frame)
        return JSONUnkeyedContainer(writer: child.writer, frame: child.writer.openUnkeyed())
    }

    mutating func superEncoder() -> any Encoder { superEncoder(key: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(key: JSONKeys.snakeCase(key.stringValue)) }

    private func superEncoder(key: String) -> any Encoder {
        let child = ChildWriter(userInfo: writer.userInfo)
        writer.record(key: key, child: child, in: frame)
        return JSONByteEncoder(writer: child.writer)
    }
}

struct JSONUnkeyedContainer: UnkeyedEncodingContainer {
    let writer: JSONByteWriter
    let frame: Int
    var codingPath: [any CodingKey] { [] }
    var count: Int { writer.elementCount(frame) }

    private func element(_ write: () throws -> Void) throws {
        try writer.checkOpen(frame)
        writer.beginElement(in: frame)
        try write()
    }

    mutating func encodeNil() throws { try element { writer.writeNull() } }
    mutating func encode(_ value: Bool) throws { try element { writer.writeBool(value) } }
    mutating func encode(_ value: String) throws { try element { writer.writeString(value) } }
    mutating func encode(_ value: Double) throws { try element { try writer.writeDouble(value) } }
    mutating func encode(_ value: Float) throws { try element { try writer.writeFloat(value) } }
    mutating func encode(_ value: Int) throws { try element { writer.writeInteger(value) } }
    mutating func encode(_ value: Int64) throws { try element { writer.writeInteger(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { try element { try writer.writeValue(value) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = writer.childElement(in: frame)
        return KeyedEncodingContainer(JSONKeyedContainer<NestedKey>(writer: child.writer, frame: child.writer.openKeyed()))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = writer.childElement(in: frame)
        return JSONUnkeyedContainer(writer: child.writer, frame: child.writer.openUnkeyed())
    }

    mutating func superEncoder() -> any Encoder {
        JSONByteEncoder(writer: writer.childElement(in: frame).writer)
    }
}

struct JSONSingleValueContainer: SingleValueEncodingContainer {
    let writer: JSONByteWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.writeNull() }
    mutating func encode(_ value: Bool) throws { writer.writeBool(value) }
    mutating func encode(_ value: String) throws { writer.writeString(value) }
    mutating func encode(_ value: Double) throws { try writer.writeDouble(value) }
    mutating func encode(_ value: Float) throws { try writer.writeFloat(value) }
    mutating func encode(_ value: Int) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: Int64) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt8) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt16) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt32) throws { writer.writeInteger(value) }
    mutating func encode(_ value: UInt64) throws { writer.writeInteger(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.writeValue(value) }
}
