import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

// Serialized: the suite starts every test at once, and these add many I/O-heavy apps to it.
@Suite("Archivos: downloads", .serialized)
struct ArchivoDownloadTests {
    /// An uploaded file's id, bytes and strong ETag.
    static func uploaded(_ t: TestApp, token: String, name: String = "informe.pdf",
                         bytes: [UInt8] = Sample.pdf(1_000)) async throws -> (Int, [UInt8], String) {
        let res = try await t.upload("/api/archivos/", .file(bytes, filename: name), token: token)
        let id = try #require(res.json["id"].int)
        return (id, bytes, "\"\(Sample.sha256(bytes))\"")
    }

    @Test("a download is an attachment with the exact bytes, the sniffed type, nosniff, a strong ETag and Accept-Ranges")
    func headers() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let (id, bytes, etag) = try await Self.uploaded(t, token: token)
            let res = try await t.send(.GET, "/api/archivos/\(id)/descarga/", token: token, headers: ["Accept": "application/pdf"])
            #expect(res.status == .ok)
            #expect(Array(res.body.readableBytesView) == bytes)
            #expect(res.headers.first(name: .contentType) == "application/pdf")
            #expect(res.headers.first(name: .contentLength) == "1000")
            #expect(res.headers.first(name: .contentDisposition) == "attachment; filename=\"informe.pdf\"; filename*=UTF-8''informe.pdf")
            #expect(res.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(res.headers.first(name: .eTag) == etag)
            #expect(res.headers.first(name: .acceptRanges) == "bytes")
            #expect(res.headers.first(name: "Content-Security-Policy") == "default-src 'none'; sandbox")
            #expect(res.headers.first(name: .cacheControl) == "private, no-cache")
        }
    }

    @Test("a Unicode name gets an ASCII fallback and an RFC 8187 filename*; text is served as UTF-8")
    func unicodeName() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let (id, _, _) = try await Self.uploaded(t, token: token, name: "Informe año \"2025\" ✓.txt", bytes: Sample.text("sí\n"))
            let res = try await t.send(.GET, "/api/archivos/\(id)/descarga/", token: token)
            #expect(res.headers.first(name: .contentDisposition)
                    == "attachment; filename=\"Informe ano _2025_ _.txt\"; filename*=UTF-8''Informe%20a%C3%B1o%20%222025%22%20%E2%9C%93.txt")
            #expect(res.headers.first(name: .contentType) == "text/plain; charset=utf-8")
        }
    }

    @Test("If-None-Match with the ETag (or W/, or *) is 304 without a body; another tag gets the file")
    func conditional() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let (id, bytes, etag) = try await Self.uploaded(t, token: token)
            let path = "/api/archivos/\(id)/descarga/"
            for tag in [etag, "W/\(etag)", "\"otro\", \(etag)", "*"] {
                let res = try await t.send(.GET, path, token: token, headers: ["If-None-Match": tag])
                #expect(res.status == .notModified, "\(tag)")
                #expect(res.body.readableBytes == 0)
                #expect(res.headers.first(name: .eTag) == etag)
            }
            let changed = try await t.send(.GET, path, token: token, headers: ["If-None-Match": "\"otro\""])
            #expect(changed.status == .ok)
            #expect(Array(changed.body.readableBytesView) == bytes)
        }
    }

    @Test("Range: a-b, a- and -n are 206 with Content-Range; out of bounds is 416 with bytes */size; malformed is ignored")
    func ranges() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let (id, bytes, etag) = try await Self.uploaded(t, token: token)
            let path = "/api/archivos/\(id)/descarga/"
            let partial: [(String, ClosedRange<Int>)] = [
                ("bytes=0-9", 0...9), ("bytes=990-", 990...999), ("bytes=-5", 995...999), ("bytes=500-5000", 500...999),
                ("bytes=-5000", 0...999), ("bytes=999-999", 999...999),
            ]
            for (header, range) in partial {
                let res = try await t.send(.GET, path, token: token, headers: ["Range": header])
                #expect(res.status == .partialContent, "\(header)")
                #expect(res.headers.first(name: .contentRange) == "bytes \(range.lowerBound)-\(range.upperBound)/1000", "\(header)")
                #expect(res.headers.first(name: .contentLength) == "\(range.count)")
                #expect(Array(res.body.readableBytesView) == Array(bytes[range]), "\(header)")
            }
            for header in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
                let res = try await t.send(.GET, path, token: token, headers: ["Range": header])
                #expect(res.status == .rangeNotSatisfiable, "\(header)")
                #expect(res.headers.first(name: .contentRange) == "bytes */1000")
                #expect(res.json["code"] == "range_not_satisfiable")
            }
            for header in ["bytes=9-2", "bytes=abc", "items=0-4", "bytes=0-1,4-5", "bytes=--1", "bytes=+1-2"] {
                let res = try await t.send(.GET, path, token: token, headers: ["Range": header])
                #expect(res.status == .ok, "\(header)")
                #expect(res.body.readableBytes == 1_000)
            }
            // If-Range with another tag: the whole (changed) file instead of a piece.
            let stale = try await t.send(.GET, path, token: token, headers: ["Range": "bytes=0-9", "If-Range": "\"viejo\""])
            #expect(stale.status == .ok)
            let fresh = try await t.send(.GET, path, token: token, headers: ["Range": "bytes=0-9", "If-Range": etag])
            #expect(fresh.status == .partialContent)
        }
    }

    @Test("a large file streams back intact")
    func largeDownload() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let bytes = Sample.pdf(1_500_000)
            let (id, _, _) = try await Self.uploaded(t, token: token, bytes: bytes)
            let body = try await t.withServer { port in
                let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/archivos/\(id)/descarga/")
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                let bytes = try await client.execute(request, timeout: .seconds(60)).body.collect(upTo: 16 << 20)
                try await client.shutdown()
                return bytes
            }
            #expect(body.readableBytes == bytes.count)
            #expect(Sample.sha256(Array(body.readableBytesView)) == Sample.sha256(bytes))
        }
    }
}
