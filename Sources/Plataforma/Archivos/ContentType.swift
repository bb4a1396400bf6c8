import Foundation

/// The kinds of content uploads may carry, told apart by their bytes (never by the client's
/// `Content-Type` or file name).
public enum ContentFamily: String, Sendable, CaseIterable {
    case pdf, png, jpeg, gif, webp, zip, ole, text

    /// Uploads of `/api/archivos/`: documents, images, archives and text.
    public static let documents = Set(allCases)
    /// User photos.
    public static let photos: Set<ContentFamily> = [.png, .jpeg, .webp]
    /// Certificate scans (SPEC §5).
    public static let certificates: Set<ContentFamily> = [.pdf, .png, .jpeg]

    /// The family a file's first bytes announce; `nil` when no magic number matches (then it can
    /// only be text, which is checked on every byte).
    static func detect(head: [UInt8]) -> ContentFamily? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return .ole }
        return nil
    }

    /// Bytes needed to tell every magic number apart.
    static let headLength = 12
}

/// Office Open XML documents: ZIP files whose entries include `[Content_Types].xml`.
enum OOXMLKind: Sendable {
    case word, excel, powerpoint, other

    var mimeType: String {
        switch self {
        case .word: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .excel: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .powerpoint: "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        case .other: "application/zip"
        }
    }

    /// Reads the names in a ZIP central directory; `nil` when it is not OOXML.
    static func classify(centralDirectory bytes: [UInt8]) -> OOXMLKind? {
        var names: [String] = []
        var offset = 0
        while offset + 46 <= bytes.count, bytes.readLE32(at: offset) == 0x0201_4B50 {
            let nameLength = Int(bytes.readLE16(at: offset + 28))
            let extraLength = Int(bytes.readLE16(at: offset + 30))
            let commentLength = Int(bytes.readLE16(at: offset + 32))
            let start = offset + 46
            guard start + nameLength <= bytes.count else { break }
            names.append(String(decoding: bytes[start..<start + nameLength], as: UTF8.self))
            offset = start + nameLength + extraLength + commentLength
        }
        guard names.contains("[Content_Types].xml") else { return nil }
        if names.contains(where: { $0.hasPrefix("word/") }) { return .word }
        if names.contains(where: { $0.hasPrefix("xl/") }) { return .excel }
        if names.contains(where: { $0.hasPrefix("ppt/") }) { return .powerpoint }
        return .other
    }

    /// Where the central directory is, from the end-of-central-directory record in `tail` (the
    /// last bytes of a file of `fileSize` bytes): `(offset, size)`, or `nil` when there is none.
    static func centralDirectory(tail: [UInt8], fileSize: Int) -> (offset: Int, size: Int)? {
        guard tail.count >= 22 else { return nil }
        var index = tail.count - 22
        while index >= 0 {
            if tail.readLE32(at: index) == 0x0605_4B50 {
                let size = Int(tail.readLE32(at: index + 12))
                let offset = Int(tail.readLE32(at: index + 16))
                guard offset + size <= fileSize else { return nil }
                return (offset, size)
            }
            index -= 1
        }
        return nil
    }
}

/// Checks, chunk by chunk, that a file is UTF-8 text without NUL bytes.
struct TextValidator {
    /// Bytes still expected to finish the current multi-byte sequence.
    private var pending = 0
    /// Allowed range of the next continuation byte (narrowed after E0, ED, F0 and F4 leads).
    private var nextLow: UInt8 = 0x80
    private var nextHigh: UInt8 = 0xBF
    private(set) var isValid = true

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard isValid else { return }
        for byte in bytes {
            if pending > 0 {
                guard byte >= nextLow && byte <= nextHigh else { return fail() }
                pending -= 1
                nextLow = 0x80
                nextHigh = 0xBF
                continue
            }
            switch byte {
            case 0x00: return fail()
            case 0x01...0x7F: continue
            case 0xC2...0xDF: pending = 1
            case 0xE0: pending = 2; nextLow = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: pending = 2
            case 0xED: pending = 2; nextHigh = 0x9F
            case 0xF0: pending = 3; nextLow = 0x90
            case 0xF1...0xF3: pending = 3
            case 0xF4: pending = 3; nextHigh = 0x8F
            default: return fail()
            }
        }
    }

    /// The file ended; a sequence cut short makes it invalid.
    mutating func finish() {
        if pending > 0 { fail() }
    }

    private mutating func fail() { isValid = false }
}

extension [UInt8] {
    func readLE16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    func readLE32(at offset: Int) -> UInt32 {
        UInt32(readLE16(at: offset)) | UInt32(readLE16(at: offset + 2)) << 16
    }
}
