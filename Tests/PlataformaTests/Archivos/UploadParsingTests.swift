import Foundation
import NIOCore
import Testing
@testable import Plataforma

@Suite("Archivos: parsing pieces")
struct UploadParsingTests {
    @Test("Range headers: single ranges parsed, unsatisfiable ones told apart, anything odd ignored")
    func byteRanges() {
        #expect(ByteRange.parse("bytes=0-0", size: 10) == .range(0...0))
        #expect(ByteRange.parse("Bytes=2-", size: 10) == .range(2...9))
        #expect(ByteRange.parse("bytes=-3", size: 10) == .range(7...9))
        #expect(ByteRange.parse("bytes=10-", size: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=99999999999999999999-", size: 10) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=3-99999999999999999999", size: 10) == .range(3...9))
        for header in ["bytes=", "bytes=-", "bytes=a-b", "bytes=1-2,3-4", "lines=1-2", "bytes=5-1", "bytes= -1-2"] {
            #expect(ByteRange.parse(header, size: 10) == .ignored, "\(header)")
        }
    }

    @Test("framing: the close delimiter is seen at any chunk border; a non-ASCII header name is refused before the parser sees it")
    func framing() {
        func scan(_ text: [UInt8], splits: [Int] = []) -> MultipartFraming {
            var framing = MultipartFraming(boundary: "xyz")
            var start = 0
            for end in splits + [text.count] {
                framing.scan(ByteBuffer(bytes: text[start..<end]))
                start = end
            }
            return framing
        }
        let body = Array("--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nuno\r\n--xy\r\n--xyz\r\nX: y\r\n\r\n\r\r\n--xyz--\r\n".utf8)
        for split in 0...body.count {
            let framing = scan(body, splits: [split])
            #expect(framing.isClosed && !framing.isInvalid, "split at \(split)")
        }
        #expect(!scan(Array(body.dropLast(4))).isClosed)
        #expect(!scan(Array("--xyz\r\n\r\n\r\r\n--xyz\r\n".utf8)).isClosed)
        // MultipartKit 4.7.1 traps on these bytes in a header name.
        #expect(scan(Array("--xyz\r\nC\u{e9}: x\r\n".utf8)).isInvalid)
        #expect(scan(Array("--xyz\r\nA: b\r\n\r\nok\r\n--xyz\r\n\u{9b}: c".utf8)).isInvalid)
        // Non-ASCII in values and bodies is fine.
        #expect(!scan(Array("--xyz\r\nA: caf\u{e9}\r\n\r\n\u{e9}\r\n--xyz--".utf8)).isInvalid)
        #expect(scan(Array("--xyz--\r\n".utf8)).isInvalid)
    }

    @Test("part headers: quoted values with escapes, RFC 8187 names, Windows paths")
    func dispositions() {
        let plain = PartDisposition("form-data; name=\"archivo\"; filename=\"a;b \\\"c\\\".pdf\"")
        #expect(plain?.name == "archivo" && plain?.filename == "a;b \"c\".pdf")
        let extended = PartDisposition("form-data; name=foto; filename=\"x.png\"; filename*=UTF-8''%E6%97%A5.png")
        #expect(extended?.filename == "日.png")
        #expect(PartDisposition("form-data; name=\"a\"; filename=\"C:\\Users\\x.pdf\"")?.filename == "C:\\Users\\x.pdf")
        #expect(PartDisposition("attachment; name=\"a\"") == nil)
        #expect(PartDisposition("form-data; name=\"descripcion\"")?.filename == nil)
    }

    @Test("text validation: UTF-8 without NULs, sequences split across chunks, overlongs and surrogates refused")
    func text() {
        func valid(_ chunks: [[UInt8]]) -> Bool {
            var validator = TextValidator()
            for chunk in chunks { chunk.withUnsafeBytes { validator.feed($0) } }
            validator.finish()
            return validator.isValid
        }
        #expect(valid([Array("año ✓ 日本".utf8)]))
        #expect(valid([[0x61, 0xE2, 0x9C], [0x93, 0x0A]]))
        #expect(!valid([[0x61, 0x00]]))
        #expect(!valid([[0xC0, 0xAF]]))
        #expect(!valid([[0xED, 0xA0, 0x80]]))
        #expect(!valid([[0xE2, 0x9C]]))
        #expect(!valid([[0xF5, 0x80, 0x80, 0x80]]))
    }

    @Test("Content-Disposition of downloads: ASCII fallback and percent-encoded UTF-8")
    func contentDisposition() {
        #expect(FileName.contentDisposition("a b.pdf") == "attachment; filename=\"a b.pdf\"; filename*=UTF-8''a%20b.pdf")
        #expect(FileName.contentDisposition("ñ\\\".txt", inline: true) == "inline; filename=\"n__.txt\"; filename*=UTF-8''%C3%B1%5C%22.txt")
    }
}
