import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

// Serialized: the suite starts every test at once, and these add many I/O-heavy apps to it.
@Suite("Archivos: storage, quota and concurrency", .serialized)
struct ArchivoStorageTests {
    @Test("identical content is stored once; deleting one file keeps the bytes, deleting the last removes them")
    func dedupe() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let bytes = Sample.pdf(4_000)
            let sha = Sample.sha256(bytes)
            let first = try await t.upload("/api/archivos/", .file(bytes, filename: "a.pdf"), token: token)
            let second = try await t.upload("/api/archivos/", .file(bytes, filename: "b.pdf"), token: token)
            let firstID = try #require(first.json["id"].int)
            let secondID = try #require(second.json["id"].int)
            #expect(first.json["sha256"].string == sha && second.json["sha256"].string == sha)
            #expect(t.storedBlobs().count == 1)
            #expect(try await Blob.query(on: t.db).count() == 1)
            #expect(try await t.send(.DELETE, "/api/archivos/\(firstID)/", token: token).status == .noContent)
            #expect(FileManager.default.fileExists(atPath: try t.app.media.path(for: sha)))
            let download = try await t.send(.GET, "/api/archivos/\(secondID)/descarga/", token: token)
            #expect(Array(download.body.readableBytesView) == bytes)
            #expect(try await t.send(.DELETE, "/api/archivos/\(secondID)/", token: token).status == .noContent)
            #expect(!FileManager.default.fileExists(atPath: try t.app.media.path(for: sha)))
            #expect(try await Blob.query(on: t.db).count() == 0)
            #expect(t.storedBlobs().isEmpty && t.tempFiles().isEmpty)
            #expect(try await t.send(.GET, "/api/archivos/\(secondID)/descarga/", token: token).status == .notFound)
        }
    }

    @Test("two simultaneous uploads of the same content: both 201, one blob")
    func simultaneousSameContent() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let bytes = Sample.pdf(200_000)
            let responses = try await t.concurrentUploads(2, "/api/archivos/", token: token) { index in
                .file(bytes, filename: "copia-\(index).pdf")
            }
            #expect(responses.map(\.status) == [.created, .created])
            #expect(Set(responses.compactMap { $0.body["sha256"].string }) == [Sample.sha256(bytes)])
            #expect(try await Blob.query(on: t.db).count() == 1)
            #expect(t.storedBlobs().count == 1)
            #expect(t.tempFiles().isEmpty)
        }
    }

    @Test("a delete racing an upload of the same content never leaves a live file without its bytes")
    func deleteRacingUpload() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let bytes = Sample.pdf(50_000)
            for _ in 0..<4 {
                let existing = try await t.upload("/api/archivos/", .file(bytes), token: token)
                let existingID = try #require(existing.json["id"].int)
                let form = MultipartForm.file(bytes, filename: "nuevo.pdf")
                let results = try await t.concurrentRequests(2, token: token) { index in
                    index == 0 ? (.DELETE, "/api/archivos/\(existingID)/", [:], nil)
                        : (.POST, "/api/archivos/", ["Content-Type": form.contentType], form.body())
                }
                #expect(results.map(\.status) == [.noContent, .created])
                let newID = try #require(results[1].body["id"].int)
                let download = try await t.send(.GET, "/api/archivos/\(newID)/descarga/", token: token)
                #expect(Array(download.body.readableBytesView) == bytes)
                #expect(try await t.send(.DELETE, "/api/archivos/\(newID)/", token: token).status == .noContent)
                #expect(t.storedBlobs().isEmpty)
            }
        }
    }

    @Test("an upload cut off mid-body leaves no temporary file, no open descriptor and no row")
    func interrupted() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.withServer { port in
                let form = MultipartForm.file([])
                var prefix = form.body(terminated: false)
                prefix.moveWriterIndex(to: prefix.writerIndex - 2)
                prefix.writeString("%PDF-1.7\n")
                let head = "POST /api/archivos/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: \(form.contentType)\r\nContent-Length: \(4 << 20)\r\n\r\n"
                let seenOpen = NIOLockedValueBox(0)
                _ = try await RawHTTP.exchange(port: port, head: head, body: RawHTTP.stream(prefix: prefix, total: 1 << 20)) {
                    // The server is waiting for the rest, its temporary file open; then the client goes.
                    for _ in 0..<50 where seenOpen.withLockedValue({ $0 }) == 0 {
                        try await Task.sleep(nanoseconds: 100_000_000)
                        seenOpen.withLockedValue { $0 = t.openTempDescriptors() }
                    }
                }
                #if os(Linux)
                #expect(seenOpen.withLockedValue { $0 } == 1)
                #endif
                var waited = 0
                while t.openTempDescriptors() > 0, waited < 50 {
                    try await Task.sleep(nanoseconds: 100_000_000)
                    waited += 1
                }
            }
            #expect(t.openTempDescriptors() == 0)
            #expect(t.tempFiles().isEmpty)
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(try await Blob.query(on: t.db).count() == 0)
            #expect(t.storedBlobs().isEmpty)
            // The server is fine afterwards.
            #expect(try await t.upload("/api/archivos/", .file(Sample.pdf()), token: token).status == .created)
        }
    }

    @Test("USER_QUOTA_MB: a user's files add up to the quota, then 413 quota_exceeded; deleting frees room; others unaffected")
    func quota() async throws {
        try await withApp(["USER_QUOTA_MB": "1"]) { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let (_, otherToken) = try await t.userWithToken(.coordinador)
            let first = try await t.upload("/api/archivos/", .file(Sample.pdf(600_000)), token: token)
            #expect(first.status == .created)
            let over = try await t.upload("/api/archivos/", .file(Sample.pdf(600_000, seed: 1)), token: token)
            #expect(over.status == .payloadTooLarge)
            #expect(over.json == ["detail": "Ha superado su cuota de almacenamiento.", "code": "quota_exceeded"])
            // The same content again still costs its size: the quota counts what the user keeps.
            #expect(try await t.upload("/api/archivos/", .file(Sample.pdf(600_000)), token: token).status == .payloadTooLarge)
            #expect(try await t.upload("/api/archivos/", .file(Sample.pdf(600_000, seed: 1)), token: otherToken).status == .created)
            let id = try #require(first.json["id"].int)
            #expect(try await t.send(.DELETE, "/api/archivos/\(id)/", token: token).status == .noContent)
            #expect(try await t.upload("/api/archivos/", .file(Sample.pdf(600_000, seed: 1)), token: token).status == .created)
            #expect(t.tempFiles().isEmpty)
        }
    }

    @Test("simultaneous uploads cannot overshoot the quota together")
    func quotaUnderConcurrency() async throws {
        try await withApp(["USER_QUOTA_MB": "1"]) { t in
            let (_, token) = try await t.userWithToken(.admin)
            let responses = try await t.concurrentUploads(3, "/api/archivos/", token: token) { index in
                .file(Sample.pdf(400_000, seed: UInt8(index)))
            }
            #expect(responses.filter { $0.status == .created }.count == 2)
            #expect(responses.filter { $0.status == .payloadTooLarge }.count == 1)
            #expect(t.storedBlobs().count == 2 && t.tempFiles().isEmpty)
        }
    }

    @Test("deleting a user removes their files and the bytes nobody else uses")
    func userDeletion() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let (owner, token) = try await t.userWithToken(.coordinador)
            let shared = Sample.pdf(3_000)
            _ = try await t.upload("/api/archivos/", .file(shared), token: token)
            _ = try await t.upload("/api/archivos/", .file(Sample.pdf(3_000, seed: 9)), token: token)
            _ = try await t.upload("/api/usuarios/\(try owner.requireID())/foto/", .file(Sample.png(), filename: "yo.png", field: "foto"),
                                   token: token, method: .PUT)
            _ = try await t.upload("/api/archivos/", .file(shared), token: admin)
            #expect(t.storedBlobs().count == 3)
            #expect(try await t.send(.DELETE, "/api/usuarios/\(try owner.requireID())/", token: admin).status == .noContent)
            #expect(t.storedBlobs() == [t.relative(Sample.sha256(shared))])
            #expect(try await Blob.query(on: t.db).count() == 1)
        }
    }
}

extension TestApp {
    /// A blob's path relative to `MEDIA_ROOT`.
    func relative(_ sha: String) -> String { "\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))/\(sha)" }
}
