import Foundation
import NIOCore
import NIOFileSystem
import Vapor

/// Serves stored bytes (SPEC §5): streamed from disk in chunks, a strong `ETag` from the
/// SHA-256 (`If-None-Match` → 304), one byte range (`Range` → 206, 416 when unsatisfiable, a
/// malformed or multi-range header ignored as RFC 9110 allows), `attachment` with the sanitised
/// name, and nothing a browser could sniff or run.
enum FileDownload {
    /// What to serve: the blob and how it is presented.
    struct Source: Sendable {
        let sha256: String
        let size: Int
        let tipoMime: String
        let nombre: String
        var inline = false
    }

    static func response(_ source: Source, req: Request) async throws -> Response {
        let path = try req.application.media.path(for: source.sha256)
        guard try await FileSystem.shared.info(forFileAt: FilePath(path)) != nil else {
            req.logger.error("stored bytes missing", metadata: ["sha256": "\(source.sha256)"])
            throw APIError.notFound
        }
        let etag = "\"\(source.sha256)\""
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .eTag, value: etag)
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-cache")
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        headers.replaceOrAdd(name: "Content-Security-Policy", value: "default-src 'none'; sandbox")
        if matches(req.headers[.ifNoneMatch], etag: etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers.replaceOrAdd(name: .acceptRanges, value: "bytes")
        headers.replaceOrAdd(name: .contentType, value: source.tipoMime.hasPrefix("text/") ? source.tipoMime + "; charset=utf-8" : source.tipoMime)
        headers.replaceOrAdd(name: .contentDisposition, value: FileName.contentDisposition(source.nombre, inline: source.inline))
        var bytes = 0...(source.size - 1)
        var status = HTTPResponseStatus.ok
        // A Range applies only while If-Range (when sent) still names this content.
        if let header = req.headers.first(name: .range), req.headers.first(name: .ifRange).map({ $0 == etag }) ?? true {
            switch ByteRange.parse(header, size: source.size) {
            case .ignored: break
            case .unsatisfiable:
                throw APIError(.rangeNotSatisfiable, "El rango solicitado no se puede satisfacer.", code: "range_not_satisfiable",
                               headers: ["Content-Range": "bytes */\(source.size)"])
            case .range(let range):
                bytes = range
                status = .partialContent
                headers.replaceOrAdd(name: .contentRange, value: "bytes \(range.lowerBound)-\(range.upperBound)/\(source.size)")
            }
        }
        let range = Int64(bytes.lowerBound)..<Int64(bytes.upperBound + 1)
        let logger = req.logger
        // Opened inside the stream, so a response whose body is never sent (HEAD) holds no descriptor.
        let body = Response.Body(asyncStream: { writer in
            do {
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                    for try await chunk in handle.readChunks(in: range, chunkLength: .kibibytes(64)) {
                        try await writer.writeBuffer(chunk)
                    }
                }
                try await writer.write(.end)
            } catch {
                logger.debug("download interrupted", metadata: ["error": "\(error)"])
                try? await writer.write(.error(error))
            }
        }, count: bytes.count)
        return Response(status: status, headers: headers, body: body)
    }

    /// `If-None-Match`: `*` or any listed tag, compared weakly (RFC 9110 §13.1.2).
    static func matches(_ values: [String], etag: String) -> Bool {
        let tags = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        return tags.contains { $0 == "*" || $0 == etag || $0 == "W/" + etag }
    }
}

/// A single `Range: bytes=…` request against a representation of `size` bytes.
enum ByteRange: Equatable {
    case ignored
    case unsatisfiable
    case range(ClosedRange<Int>)

    static func parse(_ header: String, size: Int) -> ByteRange {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.lowercased().hasPrefix("bytes=") else { return .ignored }
        let spec = text.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        // One range only: several would need multipart/byteranges, which RFC 9110 lets us decline.
        guard parts.count == 2, !spec.contains(","), parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            return .ignored
        }
        let first = parts[0].isEmpty ? nil : Int(parts[0])
        let last = parts[1].isEmpty ? nil : Int(parts[1])
        if parts[0].isEmpty {
            guard let suffix = last else { return .ignored }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - suffix)...(size - 1))
        }
        guard let start = first else { return .unsatisfiable }  // beyond Int: beyond any file
        if !parts[1].isEmpty {
            guard let end = last else { return start < size ? .range(start...(size - 1)) : .unsatisfiable }
            guard end >= start else { return .ignored }
            return start < size ? .range(start...min(end, size - 1)) : .unsatisfiable
        }
        return start < size ? .range(start...(size - 1)) : .unsatisfiable
    }
}
