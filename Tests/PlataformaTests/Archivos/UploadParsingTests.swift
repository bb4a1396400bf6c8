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

    @Test("the close delimiter is found across chunk borders, and only the real one")
    func delimiter() {
        var scanner = DelimiterScanner(boundary: "xyz")
        for piece in ["--xyz\r\nhead\r\n\r\nbody\r\n--xy", "z-", "x\r\n--xyz", "-", "-\r\n"] {
            scanner.scan(ByteBuffer(string: piece))
        }
        #expect(scanner.found)
        var empty = DelimiterScanner(boundary: "xyz")
        empty.scan(ByteBuffer(string: "--xyz--"))
        #expect(empty.found)
        var open = DelimiterScanner(boundary: "xyz")
        open.scan(ByteBuffer(string: "--xyz\r\n\r\n\r\r\n--xyz\r\n"))
        #expect(!open.found)
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
