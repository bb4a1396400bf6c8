import Fluent
import NIOConcurrencyHelpers
import NIOFileSystem
import SQLKit
import Vapor

/// Puts received files in place and takes away bytes nothing references any more, in
/// transactions that hold a lock per blob (a stripe of them, by the hash's first byte), so an
/// upload and a delete of the same content never interleave: the bytes are never removed under a
/// live row. Deleted bytes are first moved aside and only unlinked after the commit, so a failed
/// commit puts them back.
///
/// Lock order, so writers never deadlock: first the owner locks (a user's quota, a user's photo,
/// a mentor's certificates), by name; then, once the rows they guard can be read, the blob locks,
/// by name.
public enum BlobStore {
    static func lockName(_ sha256: String) -> String { "blobs:" + sha256.prefix(2) }
    static func quotaLock(_ userID: Int) -> String { "cuota:\(userID)" }

    /// Runs `body` in a write transaction holding the `owners` locks and the locks of the blobs
    /// `blobs` names. `blobs` may read the rows the owner locks guard (e.g. the photo being
    /// replaced); without owner locks it must not read, so a lock stays the first statement.
    public static func write<T: Sendable>(
        _ req: Request, owners: [String] = [],
        blobs: @escaping @Sendable (any Database) async throws -> [String],
        _ body: @escaping @Sendable (inout BlobTransaction) async throws -> T
    ) async throws -> T {
        let media = req.application.media
        let moved = NIOLockedValueBox<[BlobTransaction.Tombstone]>([])
        do {
            let result = try await req.writeTransaction { db in
                for name in Set(owners).sorted() { try await WriteLock.acquire(name, on: db) }
                let blobLocks = Set(try await blobs(db).map(lockName)).sorted()
                for name in blobLocks { try await WriteLock.acquire(name, on: db) }
                var transaction = BlobTransaction(db: db, media: media, locks: Set(blobLocks))
                do {
                    let result = try await body(&transaction)
                    moved.withLockedValue { $0 = transaction.tombstones }
                    return result
                } catch {
                    await transaction.undo()
                    throw error
                }
            }
            for tombstone in moved.withLockedValue({ $0 }) { await MediaStorage.remove(tombstone.path) }
            return result
        } catch {
            // The body succeeded but the commit did not: the rows are back, so are their bytes.
            for tombstone in moved.withLockedValue({ $0 }) {
                try? await FileSystem.shared.replaceItem(at: FilePath(tombstone.original), withItemAt: FilePath(tombstone.path))
            }
            throw error
        }
    }

    /// `write` for blobs known in advance.
    public static func write<T: Sendable>(
        _ req: Request, owners: [String] = [], blobs sha256s: [String],
        _ body: @escaping @Sendable (inout BlobTransaction) async throws -> T
    ) async throws -> T {
        try await write(req, owners: owners, blobs: { _ in sha256s }, body)
    }

    /// Drops each blob of `sha256s` that nothing references any more (after rows were deleted by
    /// cascades, e.g. a user's). Each in its own short transaction.
    public static func releaseAll(_ sha256s: Set<String>, req: Request) async throws {
        for sha256 in sha256s.sorted() {
            try await write(req, blobs: [sha256]) { try await $0.release(sha256) }
        }
    }

    static func isReferenced(_ sha256: String, on db: any Database) async throws -> Bool {
        if try await Archivo.query(on: db).filter(\.$blob.$id == sha256).count() > 0 { return true }
        if try await UsuarioFoto.query(on: db).filter(\.$blob.$id == sha256).count() > 0 { return true }
        return try await CertificadoArchivo.query(on: db).filter(\.$blob.$id == sha256).count() > 0
    }

    /// Bytes `userID` stores: their files and the certificate files they uploaded (a photo, at
    /// most one per user and small, does not count).
    static func usedQuota(of userID: Int, on db: any Database) async throws -> Int {
        guard let sql = db as? any SQLDatabase else { return 0 }
        struct Total: Decodable { let total: Int? }
        var used = 0
        for (table, column) in [(Archivo.schema, "propietario_id"), (CertificadoArchivo.schema, "subido_por")] {
            used += try await sql.select().column(SQLIntegerSum("tamano"), as: "total").from(table)
                .where(SQLColumn(column), .equal, SQLBind(userID)).first(decoding: Total.self)?.total ?? 0
        }
        return used
    }
}

/// What one `BlobStore.write` transaction did to the files, so it can be undone or finished.
public struct BlobTransaction: Sendable {
    struct Tombstone: Sendable {
        let path: String
        let original: String
    }

    public let db: any Database
    let media: MediaStorage
    let locks: Set<String>
    private(set) var tombstones: [Tombstone] = []
    /// Files put in place for blobs this transaction created.
    private var created: [String] = []

    init(db: any Database, media: MediaStorage, locks: Set<String>) {
        self.db = db
        self.media = media
        self.locks = locks
    }

    private func requireLock(_ sha256: String) throws {
        guard locks.contains(BlobStore.lockName(sha256)) else {
            assertionFailure("blob \(sha256) touched without its lock")
            throw APIError.serverError
        }
    }

    /// The blob of `file` exists, with its bytes in place; the temporary file is gone. Bytes
    /// already stored are replaced by the identical new copy, which also heals a missing file.
    public mutating func adopt(_ file: ReceivedFile) async throws {
        try requireLock(file.sha256)
        let path = try media.path(for: file.sha256)
        try await MediaStorage.ensureDirectory((path as NSString).deletingLastPathComponent)
        let isNew = try await Blob.find(file.sha256, on: db) == nil
        if isNew { try await Blob(sha256: file.sha256, tamano: file.size).create(on: db) }
        try await FileSystem.shared.replaceItem(at: FilePath(path), withItemAt: FilePath(file.tempPath))
        if isNew { created.append(path) }
    }

    /// Deletes the blob `sha256` if no row references it, moving its bytes aside until the commit.
    public mutating func release(_ sha256: String) async throws {
        try requireLock(sha256)
        guard try await !BlobStore.isReferenced(sha256, on: db) else { return }
        try await Blob.query(on: db).filter(\.$id == sha256).delete()
        let path = try media.path(for: sha256)
        let aside = media.newTempPath(suffix: ".borrado")
        do {
            try await FileSystem.shared.moveItem(at: FilePath(path), to: FilePath(aside))
            tombstones.append(Tombstone(path: aside, original: path))
        } catch let error as FileSystemError where error.code == .notFound {
            return
        }
    }

    /// 413 `quota_exceeded` unless `userID` can store `adding` more bytes.
    public func requireQuota(of userID: Int, adding: Int, limit: Int) async throws {
        if try await BlobStore.usedQuota(of: userID, on: db) + adding > limit { throw UploadError.quotaExceeded }
    }

    /// The body failed, still under the locks: bytes put in place for rolled-back blobs go,
    /// bytes moved aside come back.
    func undo() async {
        for path in created { await MediaStorage.remove(path) }
        for tombstone in tombstones {
            try? await FileSystem.shared.replaceItem(at: FilePath(tombstone.original), withItemAt: FilePath(tombstone.path))
        }
    }
}
