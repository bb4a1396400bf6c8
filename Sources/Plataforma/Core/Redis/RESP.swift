import NIOCore

/// A RESP2 value: what Redis answers to a command.
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    /// `nil` is Redis's null bulk string (`$-1`), e.g. GET of a missing key.
    case bulkString(ByteBuffer?)
    /// `nil` is Redis's null array (`*-1`).
    case array([RESPValue]?)

    /// The text of a simple or bulk string (bulk bytes decoded as UTF-8, invalid bytes replaced).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let buffer?): return String(buffer: buffer)
        default: return nil
        }
    }

    /// The raw bytes of a bulk string, or the UTF-8 bytes of a simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .simpleString(let text): return Array(text.utf8)
        case .bulkString(let buffer?): return Array(buffer.readableBytesView)
        default: return nil
        }
    }

    /// An integer reply, or a string reply that holds a decimal integer (GET of a counter).
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .simpleString, .bulkString: return string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// The elements of a non-null array.
    public var array: [RESPValue]? {
        if case .array(let elements?) = self { return elements }
        return nil
    }

    /// Whether this is a null bulk string or a null array.
    public var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }
}

/// Encodes commands the way Redis expects them: an array of bulk strings.
public enum RESPEncoder {
    /// Appends `arguments` (e.g. `["SET", "k", "v"]`) as one command.
    public static func encode(_ arguments: [String], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.utf8.count)\r\n")
            buffer.writeString(argument)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Appends a command whose arguments are raw bytes (binary-safe values).
    public static func encode(bytes arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeString("*\(arguments.count)\r\n")
        for argument in arguments {
            buffer.writeString("$\(argument.count)\r\n")
            buffer.writeBytes(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}

/// Incremental RESP2 parser with hard limits, so a broken or hostile peer can't make us allocate without bound.
///
/// Feed it everything received so far; `next` consumes one whole reply or returns `nil` when more bytes are needed.
/// Parsed elements of an unfinished array are kept between calls, so a big array arriving in many reads
/// is scanned once.
public struct RESPParser: Sendable {
    public static let maxBulkLength = 64 * 1024 * 1024
    public static let maxArrayLength = 1_000_000
    public static let maxDepth = 32
    public static let maxLineLength = 64 * 1024

    private struct Frame: Sendable {
        var remaining: Int
        var elements: [RESPValue]
    }

    /// Arrays being filled, outermost first.
    private var stack: [Frame] = []

    public init() {}

    /// Returns the next complete reply, or `nil` if `buffer` ends mid-reply.
    /// Throws `RedisError.protocolError` on malformed input.
    public mutating func next(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        while let token = try Self.readToken(&buffer) {
            var completed: RESPValue?
            switch token {
            case .value(let value):
                completed = value
            case .arrayHeader(let count):
                guard stack.count < Self.maxDepth else {
                    throw RedisError.protocolError("arrays nested deeper than \(Self.maxDepth)")
                }
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(count, 1024))  // the header is only a claim: don't trust it with memory
                stack.append(Frame(remaining: count, elements: elements))
            }
            while let value = completed, let top = stack.indices.last {
                stack[top].elements.append(value)
                stack[top].remaining -= 1
                completed = stack[top].remaining == 0 ? .array(stack.removeLast().elements) : nil
            }
            if let value = completed { return value }
        }
        return nil
    }

    private enum Token {
        case value(RESPValue)
        case arrayHeader(Int)  // > 0 elements follow
    }

    /// Reads one scalar or one array header; consumes nothing unless the whole token is there.
    private static func readToken(_ buffer: inout ByteBuffer) throws -> Token? {
        var input = buffer  // a cheap copy: reading only moves its reader index
        guard let type = input.readInteger(as: UInt8.self) else { return nil }
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"): break
        default: throw RedisError.protocolError("unknown type byte 0x\(String(type, radix: 16))")  // don't wait for a line
        }
        guard let line = try readLine(&input) else { return nil }
        let token: Token
        switch type {
        case UInt8(ascii: "+"):
            token = .value(.simpleString(String(buffer: line)))
        case UInt8(ascii: "-"):
            token = .value(.error(String(buffer: line)))
        case UInt8(ascii: ":"):
            guard let value = parseInt(line) else { throw RedisError.protocolError("invalid integer reply") }
            token = .value(.integer(value))
        case UInt8(ascii: "$"):
            let length = try parseLength(line, max: maxBulkLength, of: "bulk string")
            if length == -1 {
                token = .value(.bulkString(nil))
            } else {
                guard input.readableBytes >= length + 2, let payload = input.readSlice(length: length),
                      let terminator = input.readInteger(as: UInt16.self)
                else { return nil }
                guard terminator == 0x0D0A else { throw RedisError.protocolError("bulk string not followed by CRLF") }
                token = .value(.bulkString(payload))
            }
        default:  // "*"
            let count = try parseLength(line, max: maxArrayLength, of: "array")
            switch count {
            case -1: token = .value(.array(nil))
            case 0: token = .value(.array([]))
            default: token = .arrayHeader(count)
            }
        }
        buffer = input
        return token
    }

    /// Reads a CRLF-terminated line (without the CRLF).
    private static func readLine(_ input: inout ByteBuffer) throws -> ByteBuffer? {
        let view = input.readableBytesView
        guard let cr = view.prefix(maxLineLength + 1).firstIndex(of: UInt8(ascii: "\r")) else {
            if view.count > maxLineLength { throw RedisError.protocolError("line longer than \(maxLineLength) bytes") }
            return nil
        }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == UInt8(ascii: "\n") else { throw RedisError.protocolError("CR not followed by LF") }
        let line = input.readSlice(length: cr - view.startIndex)
        input.moveReaderIndex(forwardBy: 2)
        return line
    }

    private static func parseLength(_ line: ByteBuffer, max: Int, of kind: String) throws -> Int {
        guard let length = parseInt(line) else { throw RedisError.protocolError("non-numeric \(kind) length") }
        guard length >= -1 else { throw RedisError.protocolError("negative \(kind) length \(length)") }
        guard length <= max else { throw RedisError.protocolError("\(kind) length \(length) exceeds limit \(max)") }
        return length
    }

    /// Strict decimal: optional "-", then digits only, no overflow.
    private static func parseInt(_ line: ByteBuffer) -> Int? {
        var digits = line.readableBytesView[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        return value
    }
}
