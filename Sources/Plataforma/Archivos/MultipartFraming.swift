import NIOCore

/// Follows a multipart body's framing one chunk ahead of MultipartKit's parser: it refuses what
/// would crash the parser (MultipartKit 4.7.1 looks header-name bytes up in a 128-entry table, so
/// a byte ≥ 0x80 there traps the process) and tells whether the close delimiter `--boundary--`
/// arrived (without it the body was cut short). Its states mirror the parser's.
struct MultipartFraming {
    private enum Next { case headerName, body }

    private enum State {
        /// Before the first boundary; `Int` bytes of `\r\n--boundary` matched (the CRLF is optional).
        case preamble(Int)
        case body
        case boundary(Int)
        /// A boundary ended: CR starts a part, `-` the close delimiter.
        case afterBoundary
        case closing
        case lineBreak(sawCR: Bool, then: Next)
        case headerName(empty: Bool)
        case headerValue
        case closed
        case invalid
    }

    private let pattern: [UInt8]
    private var state = State.preamble(0)

    init(boundary: String) { pattern = Array("\r\n--\(boundary)".utf8) }

    var isClosed: Bool { if case .closed = state { true } else { false } }
    var isInvalid: Bool { if case .invalid = state { true } else { false } }

    mutating func scan(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            var index = bytes.startIndex
            while index < bytes.endIndex {
                switch state {
                case .closed, .invalid: return
                case .body:
                    // Body bytes matter only from the next CR, where a boundary may start.
                    guard let next = bytes[index...].firstIndex(of: pattern[0]) else { return }
                    index = next
                    state = .boundary(0)
                    continue
                default:
                    step(bytes[index])
                }
                index += 1
            }
        }
    }

    private mutating func step(_ byte: UInt8) {
        switch state {
        case .preamble(let matched):
            let next = matched == 0 && byte == pattern[2] ? 3
                : byte == pattern[matched] ? matched + 1
                : byte == pattern[0] ? 1 : 0
            state = next == pattern.count ? .lineBreak(sawCR: false, then: .headerName) : .preamble(next)
        case .boundary(let matched):
            if byte == pattern[matched] {
                state = matched + 1 == pattern.count ? .afterBoundary : .boundary(matched + 1)
            } else {
                state = byte == pattern[0] ? .boundary(1) : .body
            }
        case .afterBoundary:
            state = byte == 0x0D ? .lineBreak(sawCR: true, then: .headerName) : byte == 0x2D ? .closing : .invalid
        case .closing:
            state = byte == 0x2D ? .closed : .invalid
        case .lineBreak(let sawCR, let then):
            if !sawCR {
                state = byte == 0x0D ? .lineBreak(sawCR: true, then: then) : .invalid
            } else if byte == 0x0A {
                state = then == .body ? .body : .headerName(empty: true)
            } else {
                state = .invalid
            }
        case .headerName(let empty):
            switch byte {
            case 0x3A where !empty: state = .headerValue
            case 0x0D where empty: state = .lineBreak(sawCR: true, then: .body)
            case 0x0D, 0x3A, 0x80...: state = .invalid
            default: state = .headerName(empty: false)
            }
        case .headerValue:
            if byte == 0x0D { state = .lineBreak(sawCR: true, then: .headerName) }
        case .body, .closed, .invalid:
            return
        }
    }
}
