import EdgeCore
import Testing
import TestSupport

@testable import Store

/// What reading a long range costs in memory: the buffer's connections keep a small page cache
/// and hand it back when the range is read (the periodic summaries read an hour per machine).
@Suite struct RangeReadMemoryTests {
    /// 3 machines × 10 sensors every 100 ms for 10 minutes: 180,000 readings, about 5 MB of
    /// pages, far more than either cache holds.
    static let polls = 6_000

    static func filledBuffer() async throws -> (TestDatabase, SensorMapping) {
        let db = try TestDatabase()
        let mapping = try BufferDatabase(path: db.path).registerSensors(makeConfiguration(machines: 3, sensors: 10))
        let writer = try ReadingWriter(path: db.path, mapping: mapping)
        for i in 0..<polls {
            var cycle: [Reading] = []
            for m in 0..<3 { cycle += poll(machine: Int32(m), sensors: 10, time: Int64(i) * 100) { Double(i * 100 + m * 10 + $0) } }
            _ = writer.append(cycle)
        }
        #expect(await writer.committed(within: .seconds(60)))
        _ = writer.close()
        return (db, mapping)
    }

    @Test func pageCacheIsLimitedAndEmptyAfterARangeIsRead() async throws {
        let (db, mapping) = try await Self.filledBuffer()
        defer { db.remove() }
        let reader = try BufferDatabase(path: db.path, access: .readOnly)
        #expect(try reader.pageCache().limit == -Int64(BufferDatabase.pageCacheKilobytes))
        var rows = 0
        var wrong = 0
        let count = try reader.forEachRow(
            machine: 1, mapping: mapping, from: Timestamp(millisecondsSinceEpoch: 0), until: Timestamp(millisecondsSinceEpoch: Int64(Self.polls) * 100)
        ) { time, values in
            let i = Int(time.millisecondsSinceEpoch / 100)
            if time.millisecondsSinceEpoch != Int64(rows) * 100 { wrong += 1 }
            for (s, value) in values.enumerated() where value != Double(i * 100 + 10 + s) { wrong += 1 }
            rows += 1
        }
        #expect(count == Self.polls)
        #expect(rows == Self.polls)
        #expect(wrong == 0)
        // The scan went through every page of the range; at most one page stays cached.
        #expect(try #require(reader.pageCache().bytes) <= 8 * 1024)
    }

    /// The limit is what bounds the cache while a range is read: the same scan on a connection
    /// with SQLite's default cache (2,000 KiB) keeps several times as much.
    @Test func pageCacheLimitBoundsAScan() async throws {
        let (db, _) = try await Self.filledBuffer()
        defer { db.remove() }
        func cachedAfterScan(limitKilobytes: Int?) throws -> Int {
            let connection = try SQLiteConnection(path: db.path, mode: .readOnly)
            if let limitKilobytes { try connection.limitPageCache(kilobytes: limitKilobytes) }
            #expect(try connection.integer("SELECT count(value) FROM readings") == Int64(Self.polls * 30))
            let cached = try #require(connection.pageCacheBytes)
            connection.releaseCacheMemory()
            #expect(try #require(connection.pageCacheBytes) <= 8 * 1024)
            return cached
        }
        let limited = try cachedAfterScan(limitKilobytes: BufferDatabase.pageCacheKilobytes)
        let unlimited = try cachedAfterScan(limitKilobytes: nil)
        #expect(limited > 0)
        #expect(limited <= (BufferDatabase.pageCacheKilobytes + 32) * 1024)
        #expect(unlimited >= 1_500 * 1024)
    }
}
