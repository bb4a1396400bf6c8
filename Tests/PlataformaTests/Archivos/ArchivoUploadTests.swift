import Foundation
import NIOCore
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

// Serialized: the suite starts every test at once, and these add many I/O-heavy apps to it.
@Suite("Archivos: uploads", .serialized)
struct ArchivoUploadTests {
    @Test("a PDF upload is stored by content and described in full; list and detail show it")
    func happyPath() async throws {
        try await withApp { t in
            let (admin, token) = try await t.userWithToken(.admin)
            let project = try await t.makeProyecto()
            let bytes = Sample.pdf(5_000)
            let res = try await t.upload("/api/archivos/", .file(bytes, filename: "informe.pdf",
                                                                  fields: [("descripcion", "Informe final"), ("proyecto", "\(try project.requireID())")]),
                                         token: token)
            #expect(res.status == .created)
            let body = res.json
            #expect(body.objectKeys == ["id", "nombre", "tipo_mime", "tamano", "sha256", "propietario", "proyecto", "descripcion", "creado", "url"])
            let id = try #require(body["id"].int)
            let sha = Sample.sha256(bytes)
            #expect(body["nombre"] == "informe.pdf")
            #expect(body["tipo_mime"] == "application/pdf")
            #expect(body["tamano"].int == 5_000)
            #expect(body["sha256"].string == sha)
            #expect(body["propietario"].int == admin.id)
            #expect(body["proyecto"].int == project.id)
            #expect(body["descripcion"] == "Informe final")
            #expect(body["creado"].string?.hasSuffix("Z") == true)
            let url = try #require(body["url"].string)
            #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/api/archivos/\(id)/descarga/"))
            // Stored under its hash, nothing left in tmp/.
            #expect(t.storedBlobs() == ["\(sha.prefix(2))/\(sha.dropFirst(2).prefix(2))/\(sha)"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: try t.app.media.path(for: sha))) == Data(bytes))
            #expect(t.tempFiles().isEmpty)
            let list = try await t.send(.GET, "/api/archivos/", token: token)
            // Each request here reaches a fresh port: compare all but the host part of `url`.
            func withoutHost(_ value: JSONValue) -> JSONValue {
                guard case .object(var object) = value, let url = object["url"]?.string, let path = url.range(of: "/api/") else { return value }
                object["url"] = .string(String(url[path.lowerBound...]))
                return .object(object)
            }
            #expect(list.json["count"] == 1)
            #expect(withoutHost(list.json["results"][0]) == withoutHost(body))
            #expect(withoutHost(try await t.send(.GET, "/api/archivos/\(id)/", token: token).json) == withoutHost(body))
        }
    }

    @Test("the client's file name is shown sanitised: no directories, no control characters, Unicode kept, length capped")
    func names() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.coordinador)
            let cases: [(String, String)] = [
                ("../../etc/passwd", "passwd"),
                ("C:\\Users\\ana\\informe.txt", "informe.txt"),
                ("a\u{01}b\u{1B}c\u{202E}d.txt", "abcd.txt"),
                ("Resumen señal 日本語.txt", "Resumen señal 日本語.txt"),
                ("..", "archivo"),
                (String(repeating: "x", count: 300) + ".txt", String(repeating: "x", count: 196) + ".txt"),
            ]
            for (index, (raw, shown)) in cases.enumerated() {
                let res = try await t.upload("/api/archivos/", .file(Sample.text("fila \(index)\n"), filename: raw), token: token)
                #expect(res.status == .created, "\(raw)")
                #expect(res.json["nombre"].string == shown, "\(raw)")
                #expect(res.json["tipo_mime"] == "text/plain")
            }
            // RFC 8187 `filename*` wins over `filename`.
            let form = MultipartForm([.raw(headers: "Content-Disposition: form-data; name=\"archivo\"; filename=\"cafe.txt\"; filename*=UTF-8''caf%C3%A9.csv",
                                           bytes: Sample.text())])
            let res = try await t.upload("/api/archivos/", form, token: token)
            #expect(res.json["nombre"] == "café.csv")
            #expect(res.json["tipo_mime"] == "text/csv")
            #expect(t.storedBlobs().allSatisfy { !$0.contains("passwd") && !$0.contains("..") })
            // A quoted boundary parameter is the same boundary.
            let quoted = MultipartForm.file(Sample.text("citado\n"), filename: "q.txt")
            let quotedRes = try await t.send(.POST, "/api/archivos/", token: token, bytes: quoted.body(),
                                             headers: ["Content-Type": "multipart/form-data; boundary=\"\(quoted.boundary)\""])
            #expect(quotedRes.status == .created)
        }
    }

    @Test("content decides the type: an ELF named .pdf, binary 'text' and invalid UTF-8 are 415; Office files are recognised")
    func sniffing() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let refused: [(String, [UInt8])] = [
                ("informe.pdf", Sample.elf),
                ("notas.txt", [0x68, 0x6F, 0x6C, 0x61, 0x00, 0x01]),
                ("latin1.csv", [0x61, 0xF1, 0x6F, 0x0A]),
                ("corto.txt", [0x61, 0xC3]),
            ]
            for (name, bytes) in refused {
                let form = MultipartForm([.file(name: "archivo", filename: name, type: "application/pdf", bytes: bytes)])
                let res = try await t.upload("/api/archivos/", form, token: token)
                #expect(res.status == .unsupportedMediaType, "\(name)")
                #expect(res.json["code"] == "unsupported_media_type")
                #expect(res.json.objectKeys == ["detail", "code"])
            }
            let accepted: [(String, [UInt8], String)] = [
                ("a.docx", Sample.zip(entries: ["[Content_Types].xml", "word/document.xml"]),
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ("a.xlsx", Sample.zip(entries: ["[Content_Types].xml", "xl/workbook.xml"]),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                ("a.zip", Sample.zip(entries: ["datos/uno.txt"]), "application/zip"),
                ("a.xls", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504), "application/vnd.ms-excel"),
                ("foto.png", Sample.png(), "image/png"),
                ("g.gif", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0], "image/gif"),
                ("w.webp", Array("RIFF".utf8) + [20, 0, 0, 0] + Array("WEBPVP8 ".utf8) + [0, 0, 0, 0], "image/webp"),
                ("x.jpg", Sample.jpeg(), "image/jpeg"),
            ]
            for (name, bytes, type) in accepted {
                let res = try await t.upload("/api/archivos/", .file(bytes, filename: name), token: token)
                #expect(res.status == .created, "\(name)")
                #expect(res.json["tipo_mime"].string == type, "\(name)")
            }
            #expect(t.tempFiles().isEmpty)
        }
    }

    @Test("bad forms: truncated, no boundary, not multipart, two files, empty file, no file, file sent as text")
    func badForms() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let form = MultipartForm.file(Sample.pdf())
            var headers: HTTPHeaders = ["Content-Type": form.contentType]
            let truncated = try await t.send(.POST, "/api/archivos/", token: token, bytes: form.body(terminated: false), headers: headers)
            #expect(truncated.status == .badRequest)
            #expect(truncated.json["code"] == "parse_error")
            headers.replaceOrAdd(name: .contentType, value: "multipart/form-data")
            let noBoundary = try await t.send(.POST, "/api/archivos/", token: token, bytes: form.body(), headers: headers)
            #expect(noBoundary.status == .badRequest)
            #expect(noBoundary.json["code"] == "parse_error")
            headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=otro")
            #expect(try await t.send(.POST, "/api/archivos/", token: token, bytes: form.body(), headers: headers).status == .badRequest)
            // A non-ASCII header name (it trapped MultipartKit's parser, which we no longer use): 400.
            var hostile = ByteBuffer(string: "--\(form.boundary)\r\nContent-Disposition: form-data; name=\"archivo\"; filename=\"a.pdf\"\r\n")
            hostile.writeBytes([0xC2, 0x9B, 0x3A, 0x20, 0x78, 0x0D, 0x0A, 0x0D, 0x0A] + Sample.pdf())
            hostile.writeString("\r\n--\(form.boundary)--\r\n")
            headers.replaceOrAdd(name: .contentType, value: form.contentType)
            let crash = try await t.send(.POST, "/api/archivos/", token: token, bytes: hostile, headers: headers)
            #expect(crash.status == .badRequest)
            #expect(crash.json["code"] == "parse_error")
            let json = try await t.send(.POST, "/api/archivos/", token: token, json: ["archivo": "x"])
            #expect(json.status == .unsupportedMediaType)
            #expect(json.json["code"] == "unsupported_media_type")

            let two = MultipartForm([.file(name: "archivo", filename: "a.pdf", bytes: Sample.pdf()),
                                     .file(name: "archivo", filename: "b.pdf", bytes: Sample.pdf(seed: 1))])
            let twoRes = try await t.upload("/api/archivos/", two, token: token)
            #expect(twoRes.status == .badRequest)
            #expect(twoRes.json == ["archivo": ["Envíe un único archivo."]])
            let empty = try await t.upload("/api/archivos/", .file([], filename: "vacio.pdf"), token: token)
            #expect(empty.status == .badRequest)
            #expect(empty.json == ["archivo": ["El archivo enviado está vacío."]])
            let none = try await t.upload("/api/archivos/", MultipartForm([.field(name: "descripcion", value: "x")]), token: token)
            #expect(none.json == ["archivo": ["No se envió ningún archivo."]])
            let asText = try await t.upload("/api/archivos/", MultipartForm([.field(name: "archivo", value: "hola")]), token: token)
            #expect(asText.status == .badRequest)
            #expect(asText.json["archivo"][0].string?.hasPrefix("Los datos enviados no son un archivo") == true)
            // Field errors come back all at once; nothing was kept.
            let badFields = try await t.upload("/api/archivos/", .file(Sample.pdf(), fields: [
                ("proyecto", "999"), ("descripcion", String(repeating: "d", count: 1_001)),
            ]), token: token)
            #expect(badFields.status == .badRequest)
            #expect(badFields.json.objectKeys == ["proyecto", "descripcion"])
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(try await Blob.query(on: t.db).count() == 0)
            #expect(t.storedBlobs().isEmpty && t.tempFiles().isEmpty)
        }
    }

    @Test("the size limit holds at the byte: MAX_UPLOAD_MB accepted, one byte more is 413")
    func exactLimit() async throws {
        try await withApp(["MAX_UPLOAD_MB": "1"]) { t in
            let (_, token) = try await t.userWithToken(.admin)
            let fits = try await t.upload("/api/archivos/", .file(Sample.pdf(1 << 20)), token: token)
            #expect(fits.status == .created)
            let over = try await t.upload("/api/archivos/", .file(Sample.pdf((1 << 20) + 1, seed: 2)), token: token)
            #expect(over.status == .payloadTooLarge)
            #expect(over.json["code"] == "request_too_large")
            #expect(try await Archivo.query(on: t.db).count() == 1)
        }
    }

    @Test("26 MB: 413 when Content-Length announces it, and when a lying header announces more than is sent")
    func tooLarge() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            let big = MultipartForm.file(Sample.pdf(26 << 20))
            let honest = try await t.upload("/api/archivos/", big, token: token)
            #expect(honest.status == .payloadTooLarge)
            #expect(honest.json["code"] == "request_too_large")
            try await t.withServer { port in
                let (head, prefix) = Self.rawUpload(token: token)
                // A header announcing 27 MB is refused on the first bytes, not after waiting for the rest.
                let started = Date()
                let lying = try await RawHTTP.exchange(
                    port: port, head: head + "Content-Length: \(27 << 20)\r\n\r\n",
                    body: RawHTTP.stream(prefix: prefix, total: prefix.readableBytes), timeout: .seconds(10))
                #expect(RawHTTP.status(lying) == 413)
                #expect(Date().timeIntervalSince(started) < 5)
            }
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(t.tempFiles().isEmpty && t.storedBlobs().isEmpty)
        }
    }

    @Test("without Content-Length (chunked) the limit is found in the bytes as they arrive, and the upload stops there")
    func tooLargeChunked() async throws {
        try await withApp(["MAX_UPLOAD_MB": "1"]) { t in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.withServer { port in
                let (head, prefix) = Self.rawUpload(token: token)
                let chunked = try await RawHTTP.exchange(
                    port: port, head: head + "Transfer-Encoding: chunked\r\n\r\n",
                    body: RawHTTP.stream(prefix: prefix, total: 3 << 20, chunked: true))
                #expect(RawHTTP.status(chunked) == 413)
                #expect(chunked.contains("request_too_large"))
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            #expect(try await Archivo.query(on: t.db).count() == 0)
            #expect(t.tempFiles().isEmpty && t.storedBlobs().isEmpty)
            #expect(t.openTempDescriptors() == 0)
        }
    }

    /// A raw request head (no length yet) and the start of a body whose file part goes on and on.
    static func rawUpload(token: String) -> (String, ByteBuffer) {
        let form = MultipartForm.file([])
        var prefix = form.body(terminated: false)
        prefix.moveWriterIndex(to: prefix.writerIndex - 2)  // drop the empty part's CRLF: the file continues
        prefix.writeString("%PDF-1.7\n")
        let head = "POST /api/archivos/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: \(form.contentType)\r\nConnection: close\r\n"
        return (head, prefix)
    }
}
