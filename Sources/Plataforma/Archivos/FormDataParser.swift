#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// A streaming `multipart/form-data` parser (RFC 7578 / RFC 2046 framing): fed the body chunk by
/// chunk, it reports part headers, body bytes (slices of the chunks, not copies) and part ends,
/// and whether the close delimiter arrived. Body bytes are scanned with `memchr`/`memcmp` for the
/// delimiter, so a large file costs little even in debug builds.
struct FormDataParser {
    enum Event {
        case header(name: String, value: String)
        case body(ByteBuffer)
        case partEnd
    }

    struct Malformed: Error {}

    private enum Next { case headers, body }

    private enum State {
        /// Before the first boundary; `Int` bytes of `CRLF--boundary` matched (the CRLF is optional).
        case preamble(Int)
        case body
        /// A delimiter begun at the end of the previous chunk, `Int` bytes matched.
        case delimiter(Int)
        /// A boundary ended: CRLF starts a part, `--` closes the body.
        case afterBoundary
        case closing
        case lineBreak(sawCR: Bool, then: Next)
        case headerName
        case headerValue
        case closed
    }

    static let maxHeaderLine = 8 << 10
    static let maxPreamble = 64 << 10

    private let delimiter: [UInt8]
    private var state = State.preamble(0)
    private var preambleBytes = 0
    private var name: [UInt8] = []
    private var value: [UInt8] = []

    init(boundary: String) { delimiter = Array("\r\n--\(boundary)".utf8) }

    var isClosed: Bool { if case .closed = state { true } else { false } }

    /// The events in `chunk`, in order; `Malformed` at the first byte that breaks the framing.
    mutating func parse(_ chunk: ByteBuffer) throws -> [Event] {
        var events: [Event] = []
        try chunk.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                switch state {
                case .closed:
                    return  // the epilogue is ignored
                case .body:
                    index = scanBody(bytes, from: index, chunk: chunk, into: &events)
                case .delimiter(let matched):
                    if bytes[index] == delimiter[matched] {
                        index += 1
                        endDelimiter(matched + 1, into: &events)
                    } else {
                        // Not a delimiter after all: what looked like one is body, and so may this byte be.
                        events.append(.body(ByteBuffer(bytes: delimiter[0..<matched])))
                        state = .body
                    }
                default:
                    try step(bytes[index], into: &events)
                    index += 1
                }
            }
        }
        return events
    }

    /// Body bytes up to the next delimiter (or the chunk's end, where one may begin); returns
    /// where to go on from.
    private mutating func scanBody(_ bytes: UnsafeRawBufferPointer, from start: Int, chunk: ByteBuffer,
                                   into events: inout [Event]) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        var search = start
        while search < bytes.count {
            guard let found = memchr(base + search, Int32(delimiter[0]), bytes.count - search) else { break }
            let at = base.distance(to: UnsafeRawPointer(found))
            let length = min(delimiter.count, bytes.count - at)
            let matches = delimiter.withUnsafeBytes { pattern in
                pattern.baseAddress.map { memcmp(base + at, $0, length) == 0 } ?? false
            }
            if matches {
                emitBody(chunk, start..<at, into: &events)
                endDelimiter(length, into: &events)
                return at + length
            }
            search = at + 1
        }
        emitBody(chunk, start..<bytes.count, into: &events)
        return bytes.count
    }

    private func emitBody(_ chunk: ByteBuffer, _ range: Range<Int>, into events: inout [Event]) {
        guard !range.isEmpty, let slice = chunk.getSlice(at: chunk.readerIndex + range.lowerBound, length: range.count) else { return }
        events.append(.body(slice))
    }

    /// `matched` bytes of the delimiter seen after a part's body: complete, it ends the part.
    private mutating func endDelimiter(_ matched: Int, into events: inout [Event]) {
        if matched < delimiter.count {
            state = .delimiter(matched)
        } else {
            events.append(.partEnd)
            state = .afterBoundary
        }
    }

    /// One byte of the framing outside bodies (preamble, boundary tails, header lines).
    private mutating func step(_ byte: UInt8, into events: inout [Event]) throws {
        switch state {
        case .preamble(let matched):
            preambleBytes += 1
            guard preambleBytes <= Self.maxPreamble else { throw Malformed() }
            let next = matched == 0 && byte == delimiter[2] ? 3
                : byte == delimiter[matched] ? matched + 1
                : byte == delimiter[0] ? 1 : 0
            state = next == delimiter.count ? .lineBreak(sawCR: false, then: .headers) : .preamble(next)
        case .afterBoundary:
            switch byte {
            case 0x0D: state = .lineBreak(sawCR: true, then: .headers)
            case 0x2D: state = .closing
            default: throw Malformed()
            }
        case .closing:
            guard byte == 0x2D else { throw Malformed() }
            state = .closed
        case .lineBreak(let sawCR, let then):
            if !sawCR, byte == 0x0D {
                state = .lineBreak(sawCR: true, then: then)
            } else if sawCR, byte == 0x0A {
                name = []
                state = then == .headers ? .headerName : .body
            } else {
                throw Malformed()
            }
        case .headerName:
            if byte == 0x3A, !name.isEmpty {
                value = []
                state = .headerValue
            } else if byte == 0x0D, name.isEmpty {
                state = .lineBreak(sawCR: true, then: .body)
            } else if Self.isTokenByte(byte), name.count < Self.maxHeaderLine {
                name.append(byte)
            } else {
                throw Malformed()
            }
        case .headerValue:
            if byte == 0x0D {
                events.append(.header(name: String(decoding: name, as: UTF8.self),
                                      value: String(decoding: value, as: UTF8.self).trimmingSpaces()))
                state = .lineBreak(sawCR: true, then: .headers)
            } else if byte == 0x0A || value.count >= Self.maxHeaderLine {
                throw Malformed()
            } else {
                value.append(byte)
            }
        case .body, .delimiter, .closed:
            return
        }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

private extension String {
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " && $0 != "\t" }.map { scalars.index(after: $0) } ?? start
        return start < end ? String(scalars[start..<end]) : ""
    }
}
