package dev.peftd.catalog;

import java.util.List;
import org.springframework.data.jpa.repository.JpaRepository;

interface BaseModelRepository extends JpaRepository<BaseModel, BaseModel.Key> {

    List<BaseModel> findByKeyTenantOrderByCreatedAtAsc(String tenant);

    List<BaseModel> findByStatus(BaseModel.Status status);

    long countByKeyTenant(String tenant);
}
