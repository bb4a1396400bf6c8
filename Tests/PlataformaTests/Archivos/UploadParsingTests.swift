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

    /// The parts `FormDataParser` finds in `bytes` fed in pieces cut at `splits`: headers and
    /// body per part, whether it closed; nil when malformed.
    static func parts(_ bytes: [UInt8], splits: [Int] = []) -> (parts: [(headers: [String], body: [UInt8])], closed: Bool)? {
        var parser = FormDataParser(boundary: "xyz")
        var parts: [(headers: [String], body: [UInt8])] = [([], [])]
        var start = 0
        for end in splits + [bytes.count] {
            guard let events = try? parser.parse(ByteBuffer(bytes: bytes[start..<end])) else { return nil }
            for event in events {
                switch event {
                case .header(let name, let value): parts[parts.count - 1].headers.append("\(name)=\(value)")
                case .body(let buffer): parts[parts.count - 1].body += Array(buffer.readableBytesView)
                case .partEnd: parts.append(([], []))
                }
            }
            start = end
        }
        return (Array(parts.dropLast()), parser.isClosed)
    }

    @Test("the multipart parser gives the same parts wherever the chunks are cut, and finds the close delimiter")
    func parser() throws {
        let body = Array("--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\nX:  y \r\n\r\nuno\r\n--xy\r\r\n-\r\n--xyz\r\nB: c\r\n\r\n\r\n--xyz--\r\nepílogo".utf8)
        let whole = try #require(Self.parts(body))
        #expect(whole.closed)
        #expect(whole.parts.map(\.headers) == [["Content-Disposition=form-data; name=\"a\"", "X=y"], ["B=c"]])
        #expect(whole.parts.map { String(decoding: $0.body, as: UTF8.self) } == ["uno\r\n--xy\r\r\n-", ""])
        for first in 0...body.count {
            for second in stride(from: first, through: body.count, by: 7) {
                let cut = try #require(Self.parts(body, splits: [first, second]), "cut at \(first), \(second)")
                #expect(cut.closed && cut.parts.map(\.headers) == whole.parts.map(\.headers), "cut at \(first), \(second)")
                #expect(cut.parts.map(\.body) == whole.parts.map(\.body), "cut at \(first), \(second)")
            }
        }
        #expect(Self.parts(Array(body.prefix(body.count - 14)))?.closed == false)
        #expect(Self.parts(Array("--xyz\r\nA: b\r\n\r\nsin cierre\r\n--xyz\r\n".utf8))?.closed == false)
    }

    @Test("malformed framing is an error, never a crash: non-ASCII or empty header names, bare LF, an empty form")
    func malformed() {
        for text in ["--xyz\r\nC\u{e9}: x\r\n\r\n", "--xyz\r\n\u{9b}: c\r\n", "--xyz\r\n: c\r\n", "--xyz\r\nA: b\n\r\n",
                     "--xyz--\r\n", "--xyzX", "--xyz\r\nA: b\r\n\r\nok\r\n--xyz-x"] {
            #expect(Self.parts(Array(text.utf8)) == nil, "\(text.debugDescription)")
        }
        // Non-ASCII in values and bodies is fine.
        #expect(Self.parts(Array("--xyz\r\nA: caf\u{e9}\r\n\r\n\u{e9}\r\n--xyz--".utf8))?.closed == true)
        // Endless preambles and header lines are refused.
        #expect(Self.parts([UInt8](repeating: 0x61, count: FormDataParser.maxPreamble + 1)) == nil)
        #expect(Self.parts(Array("--xyz\r\nA: ".utf8) + [UInt8](repeating: 0x61, count: FormDataParser.maxHeaderLine + 1)) == nil)
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
