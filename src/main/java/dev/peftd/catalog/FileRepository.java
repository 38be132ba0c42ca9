package dev.peftd.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;

interface FileRepository extends JpaRepository<StoredFile, String> {

    Optional<StoredFile> findByIdAndTenant(String id, String tenant);

    List<StoredFile> findByTenantAndJobIdOrderByCreatedAt(String tenant, String jobId);

    List<StoredFile> findByTenantAndJobIdInOrderByCreatedAt(String tenant, java.util.Collection<String> jobIds);

    List<StoredFile> findByTenantOrderByCreatedAtDescIdDesc(String tenant, Limit limit);

    /** The page after a cursor, newest first; ties on the timestamp are broken by id. */
    @Query("""
            select f from StoredFile f where f.tenant = ?1 and (f.createdAt < ?2 or (f.createdAt = ?2 and f.id < ?3))
            order by f.createdAt desc, f.id desc""")
    List<StoredFile> pageAfter(String tenant, Instant createdAt, String id, Limit limit);
}
